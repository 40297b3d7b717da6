using Brim.Engine;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>What to load and where to run it: the options `brim serve`, `brim generate` and `brim bench` share.</summary>
public sealed record ModelHostOptions
{
    /// <summary>A model directory or llama2.c checkpoint; null means the bundled stories260K.</summary>
    public string? ModelPath { get; init; }

    public LoadFormat LoadFormat { get; init; } = LoadFormat.Auto;

    /// <summary>Seed of the dummy load format's weights.</summary>
    public int DummySeed { get; init; }

    /// <summary>Where the tokenizer lives when it is not beside the weights (a dummy model of a real shape).</summary>
    public string? TokenizerPath { get; init; }

    public DeviceKind Device { get; init; } = DeviceKind.Auto;

    /// <summary>A Jinja chat template file used instead of the model's own (--chat-template).</summary>
    public string? ChatTemplatePath { get; init; }

    /// <summary>Use the plain User:/Assistant: format, with a warning, when the model's template does not parse.</summary>
    public bool AllowFallbackTemplate { get; init; }

    /// <summary>CPU threads for the CPU backend; null uses every core.</summary>
    public int? CpuThreads { get; init; }

    /// <summary>The name clients use in the `model` field; defaults to the model directory's name.</summary>
    public string? ServedModelName { get; init; }

    public EngineOptions Engine { get; init; } = new();

    /// <summary>This model's part of the memory budget when several share the process (<c>--model-memory-share</c>).</summary>
    public MemoryShare MemoryShare { get; init; } = MemoryShare.Whole;

    /// <summary>Where several models share one GPU, whether this one's kernels go first (<c>--model-gpu-priority</c>); CUDA only.</summary>
    public GpuPriority GpuPriority { get; init; } = GpuPriority.Normal;

    /// <summary>
    /// Most bytes the CPU backend's KV cache may take when <see cref="EngineOptions.NumKvBlocks"/> is null (vLLM's
    /// VLLM_CPU_KVCACHE_SPACE); null: 4 GiB. The cache is sized from what max-num-seqs × max-model-len needs, up to this.
    /// </summary>
    public long? KvCacheSpaceBytes { get; init; }

    /// <summary>How the backend stores the KV cache (<c>--kv-cache-dtype</c>): fp8 needs CUDA, int8 the CPU backend.</summary>
    public Brim.Core.Execution.KvCacheDType KvCacheDType { get; init; } = Brim.Core.Execution.KvCacheDType.Auto;

    /// <summary>
    /// Linear weights rounded through a quantized format on load (<c>--quantization</c>); the CPU backend then runs the
    /// dequantized values. A checkpoint quantized another way is refused.
    /// </summary>
    public WeightQuantization Quantization { get; init; } = WeightQuantization.None;

    /// <summary>
    /// Ranks the model is split over (<c>--tensor-parallel-size</c>, docs/tensor-parallel.md). 1 is one device; more
    /// needs the CPU backend, which runs them as simulated ranks in one process: GPUs would need the NCCL backend, not
    /// built yet.
    /// </summary>
    public int TensorParallelSize { get; init; } = 1;

    /// <summary>
    /// Told how loading goes: weight bytes read, GPU kernels compiled, then <see cref="LoadPhase.Finished"/> (also when
    /// loading fails); the CLI draws it on a terminal. Null: nobody, and nothing is counted.
    /// </summary>
    public IProgress<LoadProgress>? Progress { get; init; }

    /// <summary>The bundled model: models/stories260K beside the executable, or in the source tree when run from it.</summary>
    public static string BundledModelPath()
    {
        foreach (var root in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = root; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var candidate = Path.Combine(dir, "models", "stories260K");
                if (File.Exists(Path.Combine(candidate, "stories260K.bin")))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("the bundled model models/stories260K was not found beside the executable or above the working directory; pass --model");
    }
}
