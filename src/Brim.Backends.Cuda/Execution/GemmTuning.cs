namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// What timing one shape found: cublasGemmEx's (CUBLAS_GEMM_DEFAULT) median and the fastest cuBLASLt candidate's, if
/// any ran. The cuBLASLt algorithm is used only where it beats GemmEx by <see cref="MinimumGain"/>: a tie within the
/// timing noise keeps the library's own choice, which every other shape uses too.
/// </summary>
internal sealed record GemmTuning(GemmShape Shape, double GemmExMicroseconds, LtAlgorithm? Best, double BestMicroseconds, int Candidates)
{
    /// <summary>Medians of a handful of graph replays, event-timed, vary by a percent or two between runs on an idle GPU.</summary>
    public const double MinimumGain = 0.03;

    /// <summary>Whether products of this shape run the <see cref="Best"/> cuBLASLt algorithm rather than GemmEx.</summary>
    public bool UsesLt => Best is not null && Beats(BestMicroseconds, GemmExMicroseconds);

    public double ChosenMicroseconds => UsesLt ? BestMicroseconds : GemmExMicroseconds;

    public double Speedup => GemmExMicroseconds / ChosenMicroseconds;

    /// <summary>Whether a cuBLASLt median of <paramref name="lt"/> µs is worth leaving GemmEx's <paramref name="gemmEx"/> µs for.</summary>
    public static bool Beats(double lt, double gemmEx) => lt <= gemmEx * (1 - MinimumGain);

    public override string ToString() => UsesLt
        ? $"{Shape}: {Best} {BestMicroseconds:F1} us against GemmEx {GemmExMicroseconds:F1} us ({Speedup:F2}x)"
        : $"{Shape}: GemmEx {GemmExMicroseconds:F1} us{(Best is null ? ", no cuBLASLt candidate ran" : $", best of {Candidates} cuBLASLt candidates {BestMicroseconds:F1} us")}";
}
