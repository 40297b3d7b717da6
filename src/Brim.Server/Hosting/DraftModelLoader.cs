using Brim.Backends.Cpu;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Engine.Speculative;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>
/// Loads the draft model of <c>--speculative-config '{"method":"draft_model","model":…}'</c> beside the target: its
/// weights (a path or a local Hugging Face name), a backend of the same kind on the same device (on CUDA: the same
/// context, a stream of its own), and the proposer with its own KV cache of as many blocks as the target's (a draft
/// sequence never holds more positions than its target).
/// </summary>
/// <remarks>
/// Memory on CUDA: when the target's block count is not given, the two caches are sized together from what the target
/// could have had alone once both models' weights are on the device (its memory share of
/// <c>--gpu-memory-utilization</c>): N blocks with N × (target + draft bytes per block) within it, so the draft's KV takes
/// draft / (target + draft) of the KV budget, and neither cache can starve the other or a model sharing the GPU.
/// </remarks>
internal static class DraftModelLoader
{
    /// <summary>
    /// The proposer and the draft's weights (which the host disposes after the engine), and the target engine's options
    /// with its block count fixed where the draft's cache had to be sized beside it; null when no draft model is configured.
    /// </summary>
    public static (DraftModelProposer Proposer, LoadedModel Model, EngineOptions Engine)? Load(
        ModelHostOptions options, EngineOptions engine, IModelBackend target, ModelConfig targetConfig)
    {
        if (engine.Speculative is not { Method: SpeculativeConfig.DraftModel, Model: { } given })
        {
            return null;
        }

        var model = ModelLoader.Load(HuggingFaceCache.Resolve(given));
        IModelBackend? backend = null;
        try
        {
            model = Truncated(model, engine.Speculative.DraftLayers);
            // The draft runs whole beside a sharded target: it is small, and its shape need not split over the target's ranks.
            (backend, _) = BackendFactory.Create(model, options with { Quantization = WeightQuantization.None, LoadFormat = LoadFormat.Auto, TensorParallelSize = 1 });
            if (BackendFactory.IsCpu(backend) != BackendFactory.IsCpu(target))
            {
                throw new NotSupportedException($"the draft model loaded on {backend.DeviceName}, the target runs on {target.DeviceName}: both must share a device");
            }

            var blocks = engine.NumKvBlocks ?? SharedBlocks(target, backend, engine);
            var proposer = new DraftModelProposer(backend, blocks, engine.BlockSize, targetConfig.VocabSize);
            return (proposer, model, engine with { NumKvBlocks = blocks });
        }
        catch
        {
            backend?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The model's first <paramref name="layers"/> layers with its own final norm and head (same weights, which the
    /// backend reads per layer, so the rest are never loaded); the model itself when null.
    /// </summary>
    private static LoadedModel Truncated(LoadedModel model, int? layers)
    {
        if (layers is not { } n || n == model.Config.NumLayers)
        {
            return model;
        }

        if (n > model.Config.NumLayers)
        {
            throw new ArgumentException($"draft_layers {n} exceeds the draft model's {model.Config.NumLayers} layers");
        }

        return new LoadedModel(model.Config with { NumLayers = n }, model.Weights, model.Path) { Quantization = model.Quantization };
    }

    /// <summary>Blocks each cache gets when both are sized from the target's KV budget (both models' weights already loaded).</summary>
    private static int SharedBlocks(IModelBackend target, IModelBackend draft, EngineOptions engine)
    {
        var perBlock = target.KvBytesPerBlock(engine.BlockSize) + draft.KvBytesPerBlock(engine.BlockSize);
        var blocks = (int)Math.Min(int.MaxValue, target.AvailableKvCacheBytes(engine.MemoryUtilization) / perBlock);
        return blocks >= 1
            ? blocks
            : throw new InvalidOperationException($"no memory left on {target.DeviceName} for the KV caches of the target and its draft model");
    }
}
