using Brim.Backends.Cpu;
using Brim.Backends.Cpu.Parallel;
using Brim.Core;
using Brim.Core.Execution;

namespace Brim.Engine.Tests;

/// <summary>
/// The engine over simulated tensor-parallel ranks: the scheduler's own ragged steps (prefill chunks cut by the token
/// budget beside decode tokens of other sequences) give every request the tokens the unsharded backend gives it.
/// </summary>
public sealed class TensorParallelEngineTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ConcurrentGreedyRequests_ShardedBackend_ProduceTheUnshardedTokens(int ranks)
    {
        var requests = Requests(10);
        var options = new EngineOptions { NumKvBlocks = 128, MaxBatchTokens = 24, MaxRunningSequences = 10 };
        var backendOptions = new CpuBackendOptions { ThreadCount = 2 };

        var unsharded = Run(CpuBackend.Create(BundledModel.Model, backendOptions), options, requests);
        var sharded = Run(TensorParallelCpuBackend.Create(BundledModel.Model, ranks, backendOptions), options, requests);

        foreach (var r in requests)
        {
            Assert.Equal(unsharded[r.Id], sharded[r.Id]);
        }
    }

    private static Dictionary<RequestId, int[]> Run(IModelBackend backend, EngineOptions options, IReadOnlyList<GenerationRequest> requests)
    {
        using var engine = new LlmEngine(backend, BundledModel.Tokenizer, options with { CheckIntegrityEachStep = true }, BundledModel.Model.Config.MaxPositions);
        return BundledModel.RunTogether(engine, requests);
    }

    private static List<GenerationRequest> Requests(int count)
    {
        string[] openings = ["Once upon a time", "The cat sat on the mat and looked at the dog", "Tom and Sue went to the park", "Lily"];
        return Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"r{i}"),
            PromptTokens = BundledModel.Tokenizer.Encode(openings[i % openings.Length] + new string('!', i % 3)),
            Sampling = SamplingParams.Greedy(24 + (i * 7 % 20)) with { IgnoreEos = true },
        }).ToList();
    }
}
