using System.CommandLine;
using Brim.Engine;
using Brim.Models;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>The options every command that loads a model shares, and their translation into <see cref="ModelHostOptions"/>.</summary>
internal sealed class ModelOptions
{
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "Model directory (config.json + safetensors) or llama2.c checkpoint; default: the bundled stories260K" };

    public Option<string?> Tokenizer { get; } = new("--tokenizer") { Description = "Tokenizer directory or file when it is not beside the model" };

    public Option<LoadFormat> LoadFormat { get; } = new("--load-format") { Description = "auto, or dummy: seeded random weights of the config's shape", DefaultValueFactory = _ => Models.LoadFormat.Auto };

    public Option<DeviceKind> Device { get; } = new("--device") { Description = "auto (GPU when usable), cpu or cuda", DefaultValueFactory = _ => DeviceKind.Auto };

    public Option<int?> Threads { get; } = new("--threads") { Description = "CPU backend threads (default: all cores)", CustomParser = r => OptionValues.AtLeastOne(r) };

    public Option<int> MaxNumSeqs { get; } = new("--max-num-seqs") { Description = "Most sequences in one batch", DefaultValueFactory = _ => 64, CustomParser = OptionValues.AtLeastOne };

    public Option<int> MaxBatchedTokens { get; } = new("--max-num-batched-tokens")
    {
        Description = "Token budget of one step (decode tokens + prefill chunks)", DefaultValueFactory = _ => 2048, CustomParser = OptionValues.AtLeastOne,
    };

    public Option<int?> NumKvBlocks { get; } = new("--num-kv-blocks") { Description = "KV cache blocks (default: sized from free memory)", CustomParser = r => OptionValues.AtLeastOne(r) };

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

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Tokenizer, LoadFormat, Device, Threads, MaxNumSeqs, MaxBatchedTokens, NumKvBlocks, BlockSize, MemoryUtilization, MaxModelLen, SwapSpace, EnablePrefixCaching, NoEnablePrefixCaching })
        {
            command.Options.Add(option);
        }
    }

    public ModelHostOptions Read(ParseResult result, BatchingMode mode = BatchingMode.Continuous) => new()
    {
        ModelPath = result.GetValue(Model),
        TokenizerPath = result.GetValue(Tokenizer),
        LoadFormat = result.GetValue(LoadFormat),
        Device = result.GetValue(Device),
        CpuThreads = result.GetValue(Threads),
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
        },
    };
}
