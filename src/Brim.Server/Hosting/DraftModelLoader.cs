using Brim.Backends.Cpu;
using Brim.Engine;
using Brim.Engine.Speculative;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>
/// Loads the draft model of <c>--speculative-config '{"method":"draft_model","model":…}'</c> beside the target: its
/// weights (a path or a local Hugging Face name), a backend of the same kind on the same device, and the proposer with
/// its own KV cache of as many blocks as the target's (a draft sequence never holds more positions than its target).
/// </summary>
internal static class DraftModelLoader
{
    /// <summary>The proposer and the draft's weights (which the host disposes after the engine); null when no draft model is configured.</summary>
    public static (DraftModelProposer Proposer, LoadedModel Model)? Load(ModelHostOptions options, EngineOptions engine, ModelConfig target)
    {
        if (engine.Speculative is not { Method: SpeculativeConfig.DraftModel, Model: { } given })
        {
            return null;
        }

        var model = ModelLoader.Load(HuggingFaceCache.Resolve(given));
        try
        {
            var (backend, _) = BackendFactory.Create(model, options with { Quantization = WeightQuantization.None, LoadFormat = LoadFormat.Auto });
            if (backend is not CpuBackend || engine.NumKvBlocks is not { } blocks)
            {
                backend.Dispose();
                throw new NotSupportedException("speculative method 'draft_model' runs on the CPU backend only for now (use --device cpu, or method 'ngram')");
            }

            return (new DraftModelProposer(backend, blocks, engine.BlockSize, target.VocabSize), model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
