using Brim.Backends.Cuda.Tests.Support;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Engine.Speculative;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Backends.Cuda.Tests.Speculative;

/// <summary>
/// Speculative verification on CUDA with the verify rows sampled on the device (the engine's path for prompt lookup and
/// greedy requests) against the same runs sampled on the host from the rows' logits, on the bundled model: the forward
/// passes are the same (the schedule does not depend on where rows are sampled, and a graph replays the kernels an eager
/// step runs), so greedy tokens must be identical; seeded sampling may differ only where a uniform falls within float
/// rounding of a boundary between two tokens (the device sums the kept mass in another order). Also: greedy speculation
/// gives plain decoding's tokens up to near ties, and a verify step replayed as a CUDA graph gives the eager step's logits.
/// </summary>
public class DeviceVerifyTests
{
    private static readonly SpeculativeConfig AlwaysNGram = new() { NumSpeculativeTokens = 4, PromptLookupMin = 1, PromptLookupMax = 4, Mode = SpeculationMode.Always };

    private static readonly string[] Openings =
    [
        "Once upon a time", "The cat sat on the mat. The cat sat on the", "Tom and Sue went to the park. Tom and Sue",
        "One day, a little bird", "Lily", "The big red ball was big and red. The big red ball",
    ];

    [Fact]
    public void Engine_NGramGreedy_DeviceSampledVerifyGivesTheHostPathsTokens()
    {
        Gpu.Require();
        var requests = Requests(16, _ => SamplingParams.Greedy(80) with { IgnoreEos = true });
        var (device, deviceProbe, metrics) = Run(requests, AlwaysNGram, deviceSampling: true);
        var (host, hostProbe, _) = Run(requests, AlwaysNGram, deviceSampling: false);

        Assert.True(metrics!.AcceptedTokens > 50, $"drafts must be accepted ({metrics.AcceptedTokens} of {metrics.DraftTokens})");
        Assert.True(deviceProbe.DeviceVerifyRows > 100 && deviceProbe.HostVerifyRows == 0, $"device {deviceProbe.DeviceVerifyRows}, host {deviceProbe.HostVerifyRows} verify rows");
        Assert.True(hostProbe.HostVerifyRows > 100 && hostProbe.DeviceVerifyRows == 0);
        foreach (var r in requests)
        {
            Assert.Equal(host[r.Id], device[r.Id]);
        }
    }

    [Fact]
    public void Engine_NGramSeededSampling_DeviceSampledVerifyGivesTheHostPathsTokensUpToBoundaryDraws()
    {
        Gpu.Require();
        var requests = Requests(24, i => new SamplingParams
        {
            Temperature = 0.8f, TopP = i % 2 == 0 ? 0.95f : 1f, TopK = i % 3 == 0 ? 40 : 0, Seed = 500 + i, MaxTokens = 64, IgnoreEos = true,
        });
        var (device, probe, metrics) = Run(requests, AlwaysNGram, deviceSampling: true);
        var (host, _, _) = Run(requests, AlwaysNGram, deviceSampling: false);

        Assert.True(metrics!.AcceptedTokens > 0 && probe.DeviceVerifyRows > 0);
        var forks = requests.Count(r => !host[r.Id].SequenceEqual(device[r.Id]));
        Assert.True(forks <= 2, $"{forks} of {requests.Count} seeded requests differ between device and host sampling");
    }

    [Fact]
    public void Engine_NGramGreedy_TokensOfPlainDecodingUpToNearTies()
    {
        // CUDA steps are not batch-invariant (a GEMM's rounding depends on its rows), so speculation, which changes the rows
        // of a step, may fork from plain decoding where the reference's two best tokens are within bf16 noise; elsewhere
        // the tokens must agree.
        Gpu.Require();
        var requests = Requests(16, _ => SamplingParams.Greedy(80) with { IgnoreEos = true });
        var withLogprobs = requests.Select(r => r with { Sampling = r.Sampling with { Logprobs = 2 } }).ToList();
        var (plain, _, _, logprobs) = RunWithLogprobs(withLogprobs);
        var (speculative, probe, _) = Run(requests, AlwaysNGram, deviceSampling: true);

        Assert.True(probe.DeviceVerifyRows > 0);
        AssertEqualUpToNearTies(requests, plain, speculative, logprobs);
    }

    /// <summary>
    /// A verify step (three sequences, 1 + 4 rows each, behind a prefilled context) replayed as a CUDA graph of its row
    /// bucket against the eager step (which runs multi-token slices on the tensor-core prefill kernel where the shape
    /// allows: head_dim 32 and 64 here) and the fp32 reference, through warm-up, capture and replay.
    /// </summary>
    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen2")]
    [InlineData("llama2c")]
    public void Forward_VerifyStepAsGraph_MatchesTheEagerStepAndTheReference(string kind)
    {
        Gpu.Require();
        const double tolerance = 3e-2; // as the backend tests: bf16 activations against the fp32 reference
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var config = kind switch { "llama3" => RandomModels.Llama3Like(), "qwen2" => RandomModels.Qwen2Like(), _ => RandomModels.Llama2cLike() };
        using var weights = RandomModels.Create(config, random);
        var reference = new Reference.ReferenceLlama(config, weights);
        using var backend = new CudaBackend(config, weights);
        const int blockSize = 8, sequences = 3, context = 21, rows = 5, perSequence = 4;
        backend.AllocateKvCache(sequences * perSequence, blockSize);
        var tables = Enumerable.Range(0, sequences).Select(s => Enumerable.Range(s * perSequence, perSequence).Reverse().ToArray()).ToArray();
        var vocab = config.VocabSize;
        var output = new ForwardOutput(vocab);
        var prompt = Enumerable.Range(0, sequences * context).Select(_ => random.Next(vocab)).ToArray();
        backend.Forward(new ForwardBatch(prompt, [.. Enumerable.Range(0, sequences).Select(s => new SequenceSlice(s * context, context, 0, tables[s], true))], blockSize), output);

        var draft = Enumerable.Range(0, sequences * rows).Select(_ => random.Next(vocab)).ToArray();
        var verify = new ForwardBatch(draft, [.. Enumerable.Range(0, sequences).Select(s => new SequenceSlice(s * rows, rows, context, tables[s], true, rows))], blockSize);
        var expected = new float[sequences * rows * vocab];
        for (var s = 0; s < sequences; s++)
        {
            var all = reference.Logits([.. prompt.AsSpan(s * context, context), .. draft.AsSpan(s * rows, rows)]);
            all.AsSpan(context * vocab, rows * vocab).CopyTo(expected.AsSpan(s * rows * vocab));
        }

        backend.VerifyGraphs = false;
        backend.Forward(verify, output);
        var eager = output.Logits.AsSpan(0, expected.Length).ToArray();
        Assert.True(MaxDifference(eager, expected) < tolerance, $"seed {seed}: the eager verify step is {MaxDifference(eager, expected)} from the reference");

        backend.VerifyGraphs = true;
        var graphsBefore = backend.CapturedGraphs;
        for (var i = 0; i < 3; i++)
        {
            // Warm-up, capture, replay: each rewrites the same K/V and must give the same logits.
            backend.Forward(verify, output);
            var graph = output.Logits.AsSpan(0, expected.Length).ToArray();
            Assert.True(MaxDifference(graph, expected) < tolerance, $"seed {seed}, run {i}: the graph's verify step is {MaxDifference(graph, expected)} from the reference");
            Assert.True(MaxDifference(graph, eager) < tolerance, $"seed {seed}, run {i}: the graph's verify step is {MaxDifference(graph, eager)} from the eager one");
        }

        Assert.True(backend.CapturedGraphs > graphsBefore, "the verify step must have been captured as a graph");
    }

    private static double MaxDifference(float[] a, float[] b)
    {
        var worst = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }

        return worst;
    }

    internal static List<GenerationRequest> Requests(int count, Func<int, SamplingParams> sampling)
    {
        var tokenizer = TokenizerLoader.Load(Path.Combine(AppContext.BaseDirectory, "Models", "tok512.bin"));
        return [.. Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"r{i}"),
            PromptTokens = tokenizer.Encode(Openings[i % Openings.Length] + new string('!', i % 3)),
            Sampling = sampling(i),
        })];
    }

    private static (Dictionary<RequestId, int[]> Tokens, SamplingProbe Probe, SpeculationMetrics? Metrics) Run(
        IReadOnlyList<GenerationRequest> requests, SpeculativeConfig? speculative, bool deviceSampling)
    {
        var (tokens, probe, metrics, _) = RunCore(requests, speculative, deviceSampling);
        return (tokens, probe, metrics);
    }

    private static (Dictionary<RequestId, int[]> Tokens, SamplingProbe Probe, SpeculationMetrics? Metrics, Dictionary<RequestId, List<TokenLogprobs>> Logprobs) RunWithLogprobs(
        IReadOnlyList<GenerationRequest> requests) => RunCore(requests, null, deviceSampling: true);

    internal static (Dictionary<RequestId, int[]>, SamplingProbe, SpeculationMetrics?, Dictionary<RequestId, List<TokenLogprobs>>) RunCore(
        IReadOnlyList<GenerationRequest> requests, SpeculativeConfig? speculative, bool deviceSampling)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Models");
        using var model = ModelLoader.Load(Path.Combine(dir, "stories260K.bin"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(dir, "tok512.bin"));
        using var probe = new SamplingProbe(new CudaBackend(model), deviceSampling);
        using var engine = new LlmEngine(
            probe, tokenizer, new EngineOptions { NumKvBlocks = 512, SwapSpaceBytes = 0, Speculative = speculative, CheckIntegrityEachStep = true }, model.Config.MaxPositions);
        var (tokens, logprobs) = EngineRun.Collect(engine, requests);
        return (tokens, probe, engine.Speculation, logprobs);
    }

    internal static void AssertEqualUpToNearTies(
        IReadOnlyList<GenerationRequest> requests, Dictionary<RequestId, int[]> expected, Dictionary<RequestId, int[]> actual, Dictionary<RequestId, List<TokenLogprobs>> logprobs)
    {
        var forks = new List<string>();
        foreach (var r in requests)
        {
            var (want, got) = (expected[r.Id], actual[r.Id]);
            Assert.Equal(want.Length, got.Length);
            var fork = -1;
            for (var i = 0; i < want.Length && fork < 0; i++)
            {
                fork = want[i] != got[i] ? i : -1;
            }

            if (fork < 0)
            {
                continue;
            }

            var ranked = logprobs[r.Id][fork].Top.Select(t => t.Logprob).OrderDescending().ToArray();
            var gap = ranked.Length < 2 ? double.PositiveInfinity : ranked[0] - ranked[1];
            forks.Add($"{r.Id} at token {fork}, top-2 gap {gap:F4}");
            Assert.True(gap < 0.1, $"{r.Id} forks at token {fork} where plain decoding's top-2 logprobs differ by {gap:F4}: not a near tie");
        }

        Assert.True(forks.Count <= requests.Count / 4, $"{forks.Count} of {requests.Count} requests fork: {string.Join("; ", forks)}");
    }
}
