namespace Brim.Backends.Cpu.Threading;

/// <summary>
/// The least work worth a chunk of a parallel job. Each chunk costs a claim, and each chunk beyond the first may wake
/// a worker thread (microseconds); a small model's whole matmul is only a few microseconds of arithmetic, so chunking it
/// by thread count alone made 16 threads three times slower than 4 on the bundled 260K-parameter model. Chunks of at
/// least this many multiply-adds (a few microseconds on one core) keep tiny jobs on few threads and leave large ones
/// spread over all of them. Results never depend on it: every output element is computed whole by one chunk.
/// </summary>
internal static class ChunkSizing
{
    public const long MinMultiplyAddsPerChunk = 64 * 1024;

    /// <summary>Items per chunk so that a chunk holds at least the minimum work, given each item's multiply-adds.</summary>
    public static int MinItemsPerChunk(long multiplyAddsPerItem)
        => (int)Math.Clamp((MinMultiplyAddsPerChunk + multiplyAddsPerItem - 1) / Math.Max(1, multiplyAddsPerItem), 1, int.MaxValue);
}
