using System.Diagnostics;
using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Per-shape algorithm choice for the bf16 products of decode steps. cublasGemmEx with CUBLAS_GEMM_DEFAULT picks one
/// algorithm per shape by heuristic, and at the skinny shapes of decode (a few to a few hundred rows against weights
/// of thousands) that choice is often far from the roofline: at 256 rows a Llama-3.1-8B step cost about its weight-read
/// time plus its compute time. So each shape a decode step runs is timed once on the device at startup, in CUDA graphs
/// as decode steps replay it: GemmEx, and each cuBLASLt candidate the heuristic offers (screened briefly, the best few
/// timed properly); the fastest cuBLASLt algorithm is kept where it beats GemmEx (<see cref="GemmTuning.Beats"/>).
/// <see cref="TryLinear"/> only looks up: it never times, so a decode step's capture may include it. Any other shape,
/// or a tuned one whose operands are not aligned as tuned, stays on GemmEx.
/// </summary>
internal sealed class Bf16GemmTuner(CudaDevice device, CudaStream stream, CublasHandle blas, Bf16LtGemm lt) : IDisposable
{
    private const int Warmups = 2;
    private const int Repeats = 7;
    private const int ScreenRepeats = 2;

    /// <summary>
    /// Products per timed graph, each on another layer's weight where there are several: two weights of even the
    /// smallest projection (o_proj, 33.5 MB at the 8B shape) overflow the H100's 50 MB L2 between runs, as a step's
    /// layers do.
    /// </summary>
    private const int ProductsPerGraph = 2;

    /// <summary>Candidates timed properly after the screen: the screen's order is right about the best few, not their ranks.</summary>
    private const int Finalists = 3;

    private readonly Dictionary<GemmShape, GemmTuning> _tunings = [];

    /// <summary>What each tuned shape found, in tuning order by rows.</summary>
    public IReadOnlyList<GemmTuning> Tunings => [.. _tunings.Values.OrderBy(t => t.Shape.Rows).ThenBy(t => t.Shape.OutFeatures)];

    /// <summary>Products run on a cuBLASLt algorithm so far (tests check the path was taken).</summary>
    public long LtProducts { get; private set; }

    /// <summary>Why a tuned product last fell back to GemmEx, or null.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>
    /// Use the fastest cuBLASLt candidate of every tuned shape even where GemmEx was as fast (tests: the cuBLASLt path must
    /// compute what GemmEx computes whether or not it wins on this device).
    /// </summary>
    public bool PreferLt { get; set; }

    /// <summary>
    /// Weights smaller than this are not tuned: their products take a few µs whatever the algorithm, so timing noise
    /// would pick among equals, and a model of small weights (the test models, stories260K) keeps GemmEx's algorithms,
    /// which do not change from one start to the next. An 8B model's smallest projection is 32 MiB, a 1B model's 8 MiB.
    /// </summary>
    public const long MinWeightBytes = 4L << 20;

    /// <summary>
    /// The shapes decode steps run through cuBLAS for one projection: its product at every decode bucket past the rows
    /// that stream on gemv; none for a weight under <see cref="MinWeightBytes"/>.
    /// </summary>
    public static IEnumerable<GemmShape> DecodeShapes(int outFeatures, int inFeatures, bool fp32Output, int streamRows)
        => DecodeGraphs.Buckets
            .Where(rows => rows > streamRows && 2L * outFeatures * inFeatures >= MinWeightBytes)
            .Select(rows => new GemmShape(rows, outFeatures, inFeatures, fp32Output));

    /// <summary>
    /// Tunes each shape with its weights (several matrices of the shape are taken in turn, as a step's layers are: one
    /// weight timed over and over would be served from L2), activations from <paramref name="x"/> and the product into
    /// <paramref name="bf16Output"/> or <paramref name="fp32Output"/>; a shape <paramref name="saved"/> holds for this
    /// device is taken from it untimed, and the newly timed ones are added to it and saved. Returns the line for the
    /// startup note. A shape larger than the buffers, or one that fails to tune, stays on GemmEx: this never throws for
    /// cuBLAS reasons.
    /// </summary>
    public string TuneAll(IEnumerable<(GemmShape Shape, IReadOnlyList<ulong> Weights)> products, DeviceBuffer x, DeviceBuffer bf16Output, DeviceBuffer fp32Output, GemmTuningCache? saved = null)
    {
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        int restored = 0, timed = 0;
        foreach (var (shape, weights) in products)
        {
            if (saved is not null && saved.TryGet(shape, out var kept) && (kept.Best is null || kept.Best.WorkspaceBytes <= Bf16LtGemm.WorkspaceBytes))
            {
                _tunings[shape] = kept;
                restored++;
                continue;
            }

            var y = shape.Fp32Output ? fp32Output : bf16Output;
            if (2L * shape.Rows * shape.InFeatures > x.Bytes || (shape.Fp32Output ? 4L : 2L) * shape.Rows * shape.OutFeatures > y.Bytes)
            {
                failures.Add($"{shape}: larger than the scratch buffers");
                continue;
            }

            try
            {
                saved?.Put(Tune(shape, weights, x.Pointer, y.Pointer));
                timed++;
            }
            catch (Exception e) when (e is CudaException or ArgumentException or EntryPointNotFoundException)
            {
                failures.Add($"{shape}: {e.Message}");
            }
        }

        stream.Synchronize();
        if (timed > 0)
        {
            saved?.Save();
        }

        var tuned = _tunings.Values.ToArray();
        if (tuned.Length == 0 && failures.Count == 0)
        {
            return $"bf16 decode products on cublasGemmEx (no weight of {MinWeightBytes >> 20} MiB or more to tune for)";
        }

        var faster = tuned.Where(t => t.UsesLt).ToArray();
        var note = $"bf16 decode products: {faster.Length} of {tuned.Length} shapes on a tuned cuBLASLt algorithm";
        if (faster.Length > 0)
        {
            note += $" (up to {faster.Max(t => t.Speedup):F2}x GemmEx)";
        }

        note += restored == 0 ? $", tuned in {clock.ElapsedMilliseconds} ms" : $", {restored} as saved in {saved!.Path ?? "memory"}, {timed} timed in {clock.ElapsedMilliseconds} ms";
        if (saved?.Problem is { } problem)
        {
            note += $"; {problem}";
        }

        return failures.Count == 0 ? note : $"{note}; {failures.Count} shapes stay on GemmEx untuned, first: {failures[0]}";
    }

    /// <summary>
    /// Times GemmEx and the cuBLASLt candidates for <paramref name="shape"/> and remembers the outcome. Throws
    /// <see cref="CudaException"/> where GemmEx or the device itself fails, <see cref="ArgumentException"/> for operands
    /// not aligned as <see cref="Bf16LtGemm"/> needs.
    /// </summary>
    public GemmTuning Tune(GemmShape shape, IReadOnlyList<ulong> weights, ulong x, ulong y)
    {
        if (weights.Count == 0 || !weights.All(w => Bf16LtGemm.Aligned(w, x, y)))
        {
            throw new ArgumentException($"tuning {shape} needs at least one weight and {Bf16LtGemm.Alignment}-byte aligned operands");
        }

        void GemmEx(ulong w) => blas.Linear(w, x, y, shape.Rows, shape.InFeatures, shape.OutFeatures, shape.Fp32Output);
        var gemmEx = Microseconds(Warmups, Repeats, weights, GemmEx);

        var screened = new List<(LtAlgorithm Algorithm, double Microseconds)>();
        var candidates = lt.Candidates(shape);
        foreach (var candidate in candidates)
        {
            if (TryTime(0, ScreenRepeats, shape, candidate, weights, x, y) is { } us)
            {
                screened.Add((candidate, us));
            }
        }

        var best = screened
            .OrderBy(s => s.Microseconds)
            .Take(Finalists)
            .Select(s => (s.Algorithm, Microseconds: TryTime(Warmups, Repeats, shape, s.Algorithm, weights, x, y) ?? double.PositiveInfinity))
            .Where(s => double.IsFinite(s.Microseconds))
            .OrderBy(s => s.Microseconds)
            .FirstOrDefault();

        // GemmEx again, last: a GPU whose clocks were still rising during its first timing must not hand cuBLASLt a false win.
        gemmEx = Math.Min(gemmEx, Microseconds(Warmups, Repeats, weights, GemmEx));
        var tuning = new GemmTuning(shape, gemmEx, best.Algorithm, best.Algorithm is null ? double.NaN : best.Microseconds, candidates.Count);
        _tunings[shape] = tuning;
        return tuning;
    }

    /// <summary>
    /// y = x · wᵀ on the tuned cuBLASLt algorithm where the shape has one (and the operands are aligned as tuned); false,
    /// with nothing enqueued, where the caller should run GemmEx. A launch cuBLASLt refuses drops the shape to GemmEx.
    /// </summary>
    public bool TryLinear(ulong w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output)
    {
        var shape = new GemmShape(rows, outFeatures, inFeatures, fp32Output);
        if (!_tunings.TryGetValue(shape, out var tuning) || tuning.Best is not { } algorithm || !(tuning.UsesLt || PreferLt) || !Bf16LtGemm.Aligned(w, x, y))
        {
            return false;
        }

        var status = lt.Run(shape, algorithm, w, x, y);
        if (status != 0)
        {
            _tunings[shape] = tuning with { Best = null, BestMicroseconds = double.NaN };
            FallbackReason = $"cublasLtMatmul(bf16, {shape}, {algorithm}) failed with cublasStatus {status}; the shape runs on GemmEx from now on";
            return false;
        }

        LtProducts++;
        return true;
    }

    public void Dispose() => lt.Dispose();

    /// <summary>
    /// The median µs of <paramref name="algorithm"/>, or null where cuBLASLt refuses it at launch (a status, nothing
    /// enqueued: simply not a candidate) or the capture it was timed in failed.
    /// </summary>
    private double? TryTime(int warmups, int repeats, GemmShape shape, LtAlgorithm algorithm, IReadOnlyList<ulong> weights, ulong x, ulong y)
    {
        if (lt.Run(shape, algorithm, weights[0], x, y) != 0)
        {
            return null;
        }

        var refused = false;
        try
        {
            var us = Microseconds(warmups, repeats, weights, w => refused |= lt.Run(shape, algorithm, w, x, y) != 0);
            return refused ? null : us;
        }
        catch (CudaException)
        {
            return null;
        }
    }

    /// <summary>The median µs of one product, timed in a graph of <see cref="ProductsPerGraph"/> of them over different weights.</summary>
    private double Microseconds(int warmups, int repeats, IReadOnlyList<ulong> weights, Action<ulong> product)
    {
        var copies = weights.Take(ProductsPerGraph).ToArray();
        return 1e3 * Timing.GraphMedianMs(device, stream, warmups, repeats, () => Array.ForEach(copies, product)) / copies.Length;
    }
}
