using System.Diagnostics;
using Brim.Core.Execution;
using Brim.Models;
using Xunit.Abstractions;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// Tokens/s on a Llama-3.2-1B-shaped model with random weights. Not a test: it runs only when BRIM_CPU_BENCH=1,
/// best in Release (<c>BRIM_CPU_BENCH=1 dotnet test -c Release --filter CpuBackendBenchmark --logger "console;verbosity=detailed"</c>);
/// <c>BRIM_CPU_BENCH_KV=int8</c> runs it on the int8 KV cache.
/// </summary>
public sealed class CpuBackendBenchmark(ITestOutputHelper log)
{
    private static readonly ModelConfig OneB = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 2048,
        IntermediateSize = 8192,
        NumLayers = 16,
        NumHeads = 32,
        NumKvHeads = 8,
        HeadDim = 64,
        VocabSize = 32000,
        MaxPositions = 4096,
        RopeTheta = 500000,
        RopeScaling = new Llama3RopeScaling(32, 1, 4, 8192),
        TieWordEmbeddings = true,
    };

    [SkippableFact]
    public void Forward_OneBillionShape_PrintsTokensPerSecond()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("BRIM_CPU_BENCH") == "1", "set BRIM_CPU_BENCH=1 to run the benchmark");
        var load = Stopwatch.StartNew();
        using var model = new LoadedModel(OneB, new RandomWeightSource(OneB, 1), "random");
        var kv = Environment.GetEnvironmentVariable("BRIM_CPU_BENCH_KV") == "int8" ? KvCacheDType.Int8 : KvCacheDType.Auto;
        using var backend = CpuBackend.Create(model, new CpuBackendOptions { KvCacheDType = kv });
        const int blockSize = 16;
        const int prompt = 128;
        const int decodeSteps = 8;
        const int maxBatch = 16;
        var blocksPerSequence = (prompt + decodeSteps + blockSize - 1) / blockSize;
        backend.AllocateKvCache(maxBatch * blocksPerSequence, blockSize);
        log.WriteLine($"{OneB.ParameterCount / 1e9:F2}B parameters, {backend.DeviceName}, {kv.Name()} KV cache, loaded in {load.Elapsed.TotalSeconds:F1} s");

        var output = new ForwardOutput(backend.VocabSize);
        var random = new Random(1);
        var prefill = Stopwatch.StartNew();
        for (var s = 0; s < maxBatch; s++)
        {
            var table = Enumerable.Range(s * blocksPerSequence, blocksPerSequence).ToArray();
            var tokens = TestModels.RandomTokens(random, prompt, OneB.VocabSize);
            backend.Forward(new ForwardBatch(tokens, [new SequenceSlice(0, prompt, 0, table, true)], blockSize), output);
        }

        log.WriteLine($"prefill: {maxBatch * prompt / prefill.Elapsed.TotalSeconds:F1} tokens/s ({prompt}-token chunks)");
        foreach (var batch in new[] { 1, 4, 16 })
        {
            var elapsed = Stopwatch.StartNew();
            for (var step = 0; step < decodeSteps; step++)
            {
                var slices = new SequenceSlice[batch];
                for (var s = 0; s < batch; s++)
                {
                    var table = Enumerable.Range(s * blocksPerSequence, blocksPerSequence).ToArray();
                    slices[s] = new SequenceSlice(s, 1, prompt + step, table, true);
                }

                backend.Forward(new ForwardBatch(TestModels.RandomTokens(random, batch, OneB.VocabSize), slices, blockSize), output);
            }

            var seconds = elapsed.Elapsed.TotalSeconds;
            log.WriteLine($"decode batch {batch,2}: {batch * decodeSteps / seconds:F1} tokens/s, {seconds / decodeSteps * 1000:F0} ms/step");
        }
    }
}
