using System.CommandLine;
using Brim.Engine;
using Brim.Models;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>The options every command that loads a model shares, and their translation into <see cref="ModelHostOptions"/>.</summary>
internal sealed class ModelOptions
{
    /// <param name="several">Whether the command serves several models (`brim serve`): --model may then be repeated.</param>
    public ModelOptions(bool several = false)
    {
        Several = several;
        Model = new("--model", "-m")
        {
            Description = several
                ? "Model directory (config.json + safetensors), llama2.c checkpoint, or org/name in the local Hugging Face cache (never downloaded); repeat it to serve several models, each as NAME=PATH to choose the name clients send; default: $BRIM_MODEL, else the bundled stories260K"
                : "Model directory (config.json + safetensors), llama2.c checkpoint, or org/name in the local Hugging Face cache (never downloaded); default: $BRIM_MODEL, else the bundled stories260K",
        };
        if (!several)
        {
            Model.Validators.Add(r =>
            {
                if (r.Tokens.Count > 1)
                {
                    r.AddError($"--model is given {r.Tokens.Count} times; only `brim serve` serves several models");
                }
            });
        }
    }

    public bool Several { get; }

    /// <summary>The --model values as typed (each PATH, or NAME=PATH where several are served).</summary>
    public Option<string[]> Model { get; }

    /// <summary>Each served model's part of the memory budget, in --model order (several models only).</summary>
    public Option<double[]> MemoryShares { get; } = new("--model-memory-share")
    {
        Description = "With several --model: each model's share of the memory budget, one per --model in order (on the CPU of --kv-cache-space, on CUDA of --gpu-memory-utilization, weights included); default: equal shares",
        CustomParser = OptionValues.Shares,
    };

    /// <summary>Each served model's priority on a shared GPU, in --model order (several models only).</summary>
    public Option<GpuPriority[]> GpuPriorities { get; } = new("--model-gpu-priority")
    {
        Description = "With several --model on one GPU: each model's stream priority, high or normal, one per --model in order; a high one's kernels go first when both have work (a small model beside a large one); default: normal",
        CustomParser = OptionValues.GpuPriorities,
    };

    public Option<string?> Tokenizer { get; } = new("--tokenizer") { Description = "Tokenizer directory or file when it is not beside the model" };

    public Option<string?> ChatTemplate { get; } = new("--chat-template") { Description = "Jinja chat template file to use instead of the model's own" };

    public Option<bool> AllowFallbackTemplate { get; } = new("--allow-fallback-template")
    {
        Description = "When the model's chat template does not parse, warn and use the plain User:/Assistant: format instead of refusing to start",
    };

    public Option<LoadFormat> LoadFormat { get; } = EnumOption.Create<LoadFormat>("--load-format", "auto, or dummy: seeded random weights of the config's shape");

    public Option<DeviceKind> Device { get; } = EnumOption.Create<DeviceKind>("--device", "auto (GPU when usable), cpu or cuda (or $BRIM_DEVICE)");

    public Option<int?> Threads { get; } = new("--threads") { Description = "CPU backend threads (default: all cores)", CustomParser = r => OptionValues.AtLeastOne(r) };

    public Option<int> MaxNumSeqs { get; } = new("--max-num-seqs") { Description = "Most sequences in one batch", DefaultValueFactory = _ => 64, CustomParser = OptionValues.AtLeastOne };

    public Option<int> MaxBatchedTokens { get; } = new("--max-num-batched-tokens")
    {
        Description = "Token budget of one step (decode tokens + prefill chunks)", DefaultValueFactory = _ => 2048, CustomParser = OptionValues.AtLeastOne,
    };

    public Option<int?> NumKvBlocks { get; } = new("--num-kv-blocks")
    {
        Description = "KV cache blocks (default: on a GPU from --gpu-memory-utilization, on the CPU what --max-num-seqs × --max-model-len needs up to --kv-cache-space)",
        CustomParser = r => OptionValues.AtLeastOne(r),
    };

    /// <summary>vLLM's VLLM_CPU_KVCACHE_SPACE: GiB on the command line, bytes once parsed.</summary>
    public Option<long?> KvCacheSpace { get; } = new("--kv-cache-space")
    {
        Description = "GiB the CPU backend's KV cache may take at most (it takes what --max-num-seqs × --max-model-len needs, up to this) [default: 4]",
        CustomParser = r => OptionValues.PositiveGiBBytes(r),
    };

    /// <summary>vLLM's --kv-cache-dtype: auto (the backend's precision), fp8 on CUDA, int8 on the CPU.</summary>
    public Option<Brim.Core.Execution.KvCacheDType> KvCacheDType { get; } = EnumOption.Create<Brim.Core.Execution.KvCacheDType>(
        "--kv-cache-dtype",
        "KV cache storage: auto (bf16 on CUDA, float32 on the CPU), fp8 (CUDA: E4M3, about twice the blocks of bf16) or int8 (CPU: about 3.8x the blocks of float32); both quantize each token's K and V per head with its own scale");

    /// <summary>vLLM's --quantization, for a float checkpoint: its linear weights rounded through the format on load.</summary>
    public Option<WeightQuantization> Quantization { get; } = EnumOption.Create<WeightQuantization>(
        "--quantization",
        "Quantize a float checkpoint's linear weights on load: fp8 (E4M3, a scale per output channel), int8 (symmetric, per output channel) or int4 (asymmetric, groups of 128 inputs); "
        + "CUDA keeps the projections quantized on the device, the CPU backend runs the dequantized values (the format's accuracy cost, not its speed). Quantized checkpoints (fp8, awq, gptq) are detected from config.json");

    /// <summary>vLLM's --tensor-parallel-size: ranks the model's heads, MLP and vocabulary are split over.</summary>
    public Option<int> TensorParallelSize { get; } = new("--tensor-parallel-size", "-tp")
    {
        Description = "Split the model over N ranks (Megatron tensor parallelism, docs/tensor-parallel.md): 1 runs it whole; more runs a rank on each of "
            + "N GPUs through NCCL (float checkpoints, --quantization too; not yet measured), or with --device cpu N simulated ranks in one process, to check the sharding",
        DefaultValueFactory = _ => 1,
        CustomParser = OptionValues.AtLeastOne,
    };

    public Option<int> BlockSize { get; } = new("--block-size") { Description = "Positions per KV block", DefaultValueFactory = _ => 16, CustomParser = OptionValues.AtLeastOne };

    public Option<double> MemoryUtilization { get; } = new("--gpu-memory-utilization")
    {
        Description = "Share of device memory the KV cache may take", DefaultValueFactory = _ => 0.9, CustomParser = OptionValues.Share,
    };

    public Option<int?> MaxModelLen { get; } = new("--max-model-len") { Description = "Longest sequence (prompt + output); default: the model's context", CustomParser = r => OptionValues.AtLeastOne(r) };

    /// <summary>vLLM's --swap-space: GiB on the command line, bytes once parsed.</summary>
    public Option<long?> SwapSpace { get; } = new("--swap-space")
    {
        Description = "GiB of host memory per GPU that preempted sequences' KV blocks are swapped to instead of being recomputed (0: always recompute); default: the backend's (4 on CUDA, 0 on the CPU)",
        CustomParser = r => OptionValues.SwapSpaceBytes(r),
    };

    /// <summary>vLLM's pair: prefix caching is on unless --no-enable-prefix-caching is given.</summary>
    public Option<bool> EnablePrefixCaching { get; } = new("--enable-prefix-caching")
    {
        Description = "Reuse the KV cache of prompt prefixes other requests computed (default: on)", DefaultValueFactory = _ => true,
    };

    public Option<bool> NoEnablePrefixCaching { get; } = new("--no-enable-prefix-caching") { Description = "Compute every prompt whole (to compare)" };

    /// <summary>vLLM's --speculative-config: a JSON object; off when absent.</summary>
    public Option<Brim.Engine.Speculative.SpeculativeConfig?> SpeculativeConfig { get; } = new("--speculative-config")
    {
        Description = "Speculative decoding as JSON, e.g. '{\"method\":\"ngram\",\"num_speculative_tokens\":4,\"prompt_lookup_max\":4,\"prompt_lookup_min\":2}' "
            + "(keys: " + string.Join(", ", Brim.Engine.Speculative.SpeculativeConfig.Keys) + "; policy: adaptive (default: per step, from acceptance and step cost) or always); default: off",
        CustomParser = r => OptionValues.SpeculativeConfig(r),
    };

    public void AddTo(Command command)
    {
        if (Several)
        {
            command.Options.Add(MemoryShares);
            command.Options.Add(GpuPriorities);
        }

        foreach (var option in new Option[] { Model, Tokenizer, ChatTemplate, AllowFallbackTemplate, LoadFormat, Device, Threads, MaxNumSeqs, MaxBatchedTokens, NumKvBlocks, KvCacheSpace, KvCacheDType, Quantization, TensorParallelSize, BlockSize, MemoryUtilization, MaxModelLen, SwapSpace, EnablePrefixCaching, NoEnablePrefixCaching, SpeculativeConfig })
        {
            command.Options.Add(option);
        }
    }

    public ModelHostOptions Read(ParseResult result, BatchingMode mode = BatchingMode.Continuous) => new()
    {
        Progress = Terminal.LoadProgressLine.ForStderr(), // a line on a terminal; nothing when stderr is redirected
        ModelPath = result.GetValue(Model) is { Length: > 0 } models ? models[0] : null,
        TokenizerPath = result.GetValue(Tokenizer),
        ChatTemplatePath = result.GetValue(ChatTemplate),
        AllowFallbackTemplate = result.GetValue(AllowFallbackTemplate),
        LoadFormat = result.GetValue(LoadFormat),
        Device = result.GetValue(Device),
        CpuThreads = result.GetValue(Threads),
        KvCacheSpaceBytes = result.GetValue(KvCacheSpace),
        KvCacheDType = result.GetValue(KvCacheDType),
        Quantization = result.GetValue(Quantization),
        TensorParallelSize = result.GetValue(TensorParallelSize),
        Engine = new EngineOptions
        {
            BatchingMode = mode,
            MaxRunningSequences = result.GetValue(MaxNumSeqs),
            MaxBatchTokens = result.GetValue(MaxBatchedTokens),
            NumKvBlocks = result.GetValue(NumKvBlocks),
            BlockSize = result.GetValue(BlockSize),
            MemoryUtilization = result.GetValue(MemoryUtilization),
            MaxModelLength = result.GetValue(MaxModelLen),
            SwapSpaceBytes = result.GetValue(SwapSpace),
            EnablePrefixCaching = result.GetValue(EnablePrefixCaching) && !result.GetValue(NoEnablePrefixCaching),
            Speculative = result.GetValue(SpeculativeConfig),
        },
    };

    /// <summary>
    /// Every model to serve, in --model order (the first is the default): the shared options with each one's path, served
    /// name (NAME=PATH) and memory share. None given: the one model <see cref="Read"/> describes.
    /// </summary>
    public IReadOnlyList<ModelHostOptions> ReadAll(ParseResult result)
    {
        var shared = Read(result);
        var given = result.GetValue(Model) ?? [];
        if (given.Length <= 1)
        {
            if (result.GetValue(MemoryShares) is { Length: > 0 })
            {
                throw new ArgumentException("--model-memory-share splits the memory among several --model; with one model it takes the whole budget");
            }

            if (result.GetValue(GpuPriorities) is { Length: > 0 })
            {
                throw new ArgumentException("--model-gpu-priority orders several --model on one GPU; with one model there is nothing to order");
            }

            var one = given.Length == 1 ? ModelArgument.Parse(given[0]) : default;
            return [shared with { ModelPath = one.Path ?? shared.ModelPath, ServedModelName = one.Name }];
        }

        var shares = MemoryShare.Split(given.Length, result.GetValue(MemoryShares));
        var priorities = result.GetValue(GpuPriorities) ?? [];
        if (priorities.Length > 0 && priorities.Length != given.Length)
        {
            throw new ArgumentException($"give one --model-gpu-priority per --model ({given.Length}), or none");
        }

        var models = new List<ModelHostOptions>(given.Length);
        for (var i = 0; i < given.Length; i++)
        {
            var (name, path) = ModelArgument.Parse(given[i]);
            models.Add(shared with
            {
                ModelPath = path, ServedModelName = name, MemoryShare = shares[i], GpuPriority = priorities.Length > 0 ? priorities[i] : GpuPriority.Normal,
            });
        }

        return models;
    }
}
