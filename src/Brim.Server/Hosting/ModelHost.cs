using Brim.Backends.Cuda;
using Brim.Backends.Cuda.TensorParallel;
using Brim.ChatTemplates;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Server.Hosting;

/// <summary>
/// A loaded model ready to serve: weights on a backend, tokenizer, chat template and the engine. The one place that
/// wires these together, for the server, the CLI and in-process use.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly LoadedModel _model;
    private readonly IModelBackend _backend;
    private (Brim.Engine.Speculative.DraftModelProposer Proposer, LoadedModel Model)? _draft;
    private int _engineStarted;

    private ModelHost(
        LoadedModel model, IModelBackend backend, ITokenizer tokenizer, ChatTemplate chatTemplate, LlmEngine engine, string servedName, string modelAsGiven, string deviceNote)
    {
        ModelAsGiven = modelAsGiven;
        _model = model;
        _backend = backend;
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        Engine = engine;
        ServedModelName = servedName;
        DeviceNote = deviceNote;
    }

    public LlmEngine Engine { get; }

    /// <summary>The backend under the engine (for device-specific reporting such as measured ceilings).</summary>
    public IModelBackend Backend => _backend;

    public ITokenizer Tokenizer { get; }

    public ChatTemplate ChatTemplate { get; }

    public ModelConfig Config => _model.Config;

    public string ServedModelName { get; }

    public string ModelPath => _model.Path;

    /// <summary>
    /// The model as the user named it (the --model argument, unresolved), or the served name for the bundled model:
    /// what /v1/models reports as <c>root</c>, as vLLM does, rather than where on this machine the files are.
    /// </summary>
    public string ModelAsGiven { get; }

    /// <summary>What the user should know about how the model was loaded (a fallback chat template); printed at startup.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    /// <summary>Which device was chosen and, for auto, why.</summary>
    public string DeviceNote { get; }

    /// <summary>Bytes one position takes in the KV cache over all layers, K and V, as the backend stores it (scales included).</summary>
    public long KvBytesPerPosition => _backend.KvBytesPerBlock(Engine.Options.BlockSize) / Engine.Options.BlockSize;

    /// <summary>
    /// Bytes of the decoder's linear weights as the backend holds them where that is not the checkpoint's dtype (CUDA
    /// with quantized weights: codes and scales); null otherwise (the CPU computes in float32 from any format).
    /// </summary>
    public long? ProjectionBytes => _backend switch
    {
        CudaBackend cuda => cuda.QuantizedProjections?.Bytes,
        TensorParallelCudaBackend ranks => ranks.QuantizedProjections?.Bytes,
        _ => null,
    };

    /// <summary>GPUs the model runs on: its tensor-parallel ranks, else 1 (one GPU, or the CPU).</summary>
    public int DeviceCount => _backend is TensorParallelCudaBackend ranks ? ranks.WorldSize : 1;

    /// <summary>One card's copy bandwidth and bf16 GEMM rate, measured now (about a second); null on the CPU.</summary>
    public Ceilings? MeasureCeilings() => _backend switch
    {
        CudaBackend cuda => cuda.MeasureCeilings(),
        TensorParallelCudaBackend ranks => ranks.MeasureCeilings(),
        _ => null,
    };

    /// <summary>This model's part of the memory budget (all of it when it is the only model of the process).</summary>
    public MemoryShare MemoryShare { get; private init; } = MemoryShare.Whole;

    /// <summary>How the KV cache is stored (--kv-cache-dtype).</summary>
    public KvCacheDType KvCacheDType { get; private init; }

    /// <summary>
    /// The KV cache's size in GiB and tokens, for the startup line ("0.02 GiB, 32768 tokens (2048 blocks × 16)"); a
    /// quantized cache also says its format and how many times the blocks of the backend's own precision fit.
    /// </summary>
    public string KvCacheNote
    {
        get
        {
            var blocks = Engine.TotalKvBlocks;
            var size = Engine.Options.BlockSize;
            var gib = blocks * (double)_backend.KvBytesPerBlock(size) / (1L << 30);
            var note = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{gib:F2} GiB, {(long)blocks * size} tokens ({blocks} blocks × {size})");
            if (KvCacheDType == KvCacheDType.Auto)
            {
                return note;
            }

            // Native: bf16 on CUDA, float32 on the CPU; quantized: one byte a value plus a float scale per head vector.
            var nativeBytes = (BackendFactory.IsCpu(_backend) ? sizeof(float) : 2) * Config.HeadDim;
            var ratio = nativeBytes / (double)(Config.HeadDim + sizeof(float));
            return string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"{KvCacheDType.Name()}: {note}, {ratio:F2}x the blocks {(BackendFactory.IsCpu(_backend) ? "float32" : "bf16")} would fit");
        }
    }

    /// <summary>
    /// The weights' format and size for the startup line: the format (the checkpoint's dtype, or its quantization) and the
    /// bytes in it, then what the backend holds when that differs: float32 on the CPU, bf16 on CUDA
    /// ("weights awq int4 g128: 4.21 GB, 32.12 GB float32 on the host"); on CUDA, how prefill-sized FP8 products and the
    /// bf16 decode products run.
    /// </summary>
    public string WeightsNote
    {
        get
        {
            var format = _model.Quantization?.Description ?? Config.WeightDType.ToString().ToLowerInvariant();
            var stored = _model.Quantization?.StoredBytes ?? WeightManifest.For(Config).Sum(t => _model.Weights.GetInfo(t.Name).ByteCount);
            (long held, string where) = _backend switch
            {
                _ when BackendFactory.IsCpu(_backend) => (Config.ParameterCount * sizeof(float), "float32 on the host" + (_model.Quantization is null ? string.Empty : " (dequantized on load)")),
                CudaBackend { QuantizedProjections: { } projections } cuda => (cuda.WeightBytes, $"on the device ({projections.Format} projections {Size(projections.Bytes)}, the rest bf16)"),
                TensorParallelCudaBackend { QuantizedProjections: { } projections } ranks => (ranks.WeightBytes, $"on {ranks.WorldSize} devices ({projections.Format} projections {Size(projections.Bytes)}, the rest bf16)"),
                TensorParallelCudaBackend ranks => (ranks.WeightBytes, $"bf16 on {ranks.WorldSize} devices"),
                _ => (Config.ParameterCount * 2, "bf16 on the device"),
            };
            var note = held == stored ? $"weights {format}: {Size(stored)}" : $"weights {format}: {Size(stored)}, {Size(held)} {where}";
            if (_backend is not CudaBackend gpu)
            {
                return note;
            }

            return gpu.Fp8GemmNote is { } fp8 ? $"{note}; {fp8}; {gpu.GemmTuningNote}" : $"{note}; {gpu.GemmTuningNote}";
        }
    }

    /// <summary>Starts the engine's step loop unless it already runs (the server and in-process clients share it).</summary>
    public void StartEngine()
    {
        if (Interlocked.Exchange(ref _engineStarted, 1) == 0)
        {
            Engine.Start();
        }
    }

    public static ModelHost Load(ModelHostOptions options)
    {
        var path = options.ModelPath is { } given ? HuggingFaceCache.Resolve(given) : ModelHostOptions.BundledModelPath();
        var model = ModelLoader.Load(path, options.LoadFormat, options.DummySeed, options.Progress, options.Quantization);
        try
        {
            var tokenizer = LoadTokenizer(options, path, model.Config);
            var warnings = new List<string>();
            var template = ChatTemplateLoader.Load(options, options.TokenizerPath ?? path, tokenizer, warnings);
            var (backend, note) = BackendFactory.Create(model, options);
            LlmEngine engine;
            (Brim.Engine.Speculative.DraftModelProposer Proposer, LoadedModel Model)? draft = null;
            try
            {
                options = options.MemoryShare.Apply(options, backend);
                var engineOptions = options.Engine;
                if (BackendFactory.IsCpu(backend) && engineOptions.NumKvBlocks is null)
                {
                    engineOptions = engineOptions with { NumKvBlocks = CpuKvCacheSize.Blocks(backend, model.Config, engineOptions, options.KvCacheSpaceBytes) };
                }

                // The prefix cache's root key names the weights, so blocks of one model can never answer for another.
                if (engineOptions.PrefixCacheKey.Length == 0)
                {
                    engineOptions = engineOptions with { PrefixCacheKey = $"{Path.GetFullPath(path)}|{options.LoadFormat}|{options.DummySeed}|{options.KvCacheDType.Name()}|{options.Quantization.Name()}" };
                }

                if (DraftModelLoader.Load(options, engineOptions, backend, model.Config) is { } loaded)
                {
                    draft = (loaded.Proposer, loaded.Model);
                    engineOptions = loaded.Engine;
                }

                engine = new LlmEngine(backend, tokenizer, engineOptions, model.Config.MaxPositions, draft?.Proposer);
            }
            catch
            {
                draft?.Proposer.Dispose();
                draft?.Model.Dispose();
                backend.Dispose();
                throw;
            }

            // As vLLM: a repository id is served under that id; a directory under its name.
            var name = options.ServedModelName
                ?? (options.ModelPath is { } id && !ReferenceEquals(id, path) && HuggingFaceCache.IsRepositoryId(id) ? id : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))));
            return new ModelHost(model, backend, tokenizer, template, engine, name, options.ModelPath ?? name, note)
            {
                Warnings = warnings, KvCacheDType = options.KvCacheDType, _draft = draft, MemoryShare = options.MemoryShare,
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            options.Progress?.Report(LoadProgress.Finished);
        }
    }

    private static ITokenizer LoadTokenizer(ModelHostOptions options, string path, ModelConfig config)
    {
        try
        {
            return TokenizerLoader.Load(options.TokenizerPath ?? path);
        }
        catch (TokenizerLoadException) when (options.LoadFormat == LoadFormat.Dummy && options.TokenizerPath is null)
        {
            // A shape-only benchmark model: no tokenizer files, so tokens are numbered.
            return new NumberedTokenizer(config.VocabSize, config.BosTokenId, config.EosTokenIds);
        }
        catch (TokenizerLoadException e) when (options.TokenizerPath is null)
        {
            throw new TokenizerLoadException(e.FilePath, e.Message[(e.Message.IndexOf("': ", StringComparison.Ordinal) + 3)..] + "; give the tokenizer's directory or file with --tokenizer", e);
        }
    }

    private static string Size(long bytes) => bytes >= 1e9
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1e6:F2} MB");

    public void Dispose()
    {
        Engine.Dispose();
        _draft?.Proposer.Dispose();
        _draft?.Model.Dispose();
        _backend.Dispose();
        _model.Dispose();
    }
}
