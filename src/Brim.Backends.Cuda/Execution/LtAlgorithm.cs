using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// A cuBLASLt algorithm the heuristic offered for a shape: its opaque descriptor (cublasLtMatmulAlgo_t, valid with the
/// library that wrote it), the workspace it needs, and what it is for reports (id, tile, split-K, stages; -1 where the
/// library did not say).
/// </summary>
internal sealed record LtAlgorithm(ulong[] Descriptor, long WorkspaceBytes, int Id, int Tile, int SplitK, int Stages)
{
    public ulong[] Descriptor { get; } = Descriptor.Length == CublasLt.AlgoWords
        ? Descriptor
        : throw new ArgumentException($"a cuBLASLt algorithm is {CublasLt.AlgoWords} words, got {Descriptor.Length}", nameof(Descriptor));

    public override string ToString() => $"algo {Id} tile {Tile} split-K {SplitK} stages {Stages}";
}
