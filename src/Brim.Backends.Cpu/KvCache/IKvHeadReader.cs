namespace Brim.Backends.Cpu.KvCache;

/// <summary>
/// How attention reads one KV head of one cached position, whatever the cache's format. Implemented by structs (one per
/// format) and taken as a generic struct argument, so the JIT compiles one attention loop per format with these calls
/// inlined: no virtual call per position.
/// </summary>
/// <remarks>
/// Both operations depend only on the query (or weight) and the cached vector, so attention stays batch invariant for
/// every format.
/// </remarks>
internal interface IKvHeadReader
{
    /// <summary>query · key of head <paramref name="kvHead"/> at slot <paramref name="inBlock"/> of <paramref name="block"/>, before the 1/√d scaling.</summary>
    float QueryKey(ReadOnlySpan<float> query, int block, int inBlock, int kvHead);

    /// <summary>result += weight · value of head <paramref name="kvHead"/> at slot <paramref name="inBlock"/> of <paramref name="block"/>.</summary>
    void AddWeightedValue(float weight, int block, int inBlock, int kvHead, Span<float> result);
}
