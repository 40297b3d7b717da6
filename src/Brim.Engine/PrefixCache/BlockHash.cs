using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Brim.Engine.PrefixCache;

/// <summary>
/// The content address of one full KV block: a 128-bit hash chained over the parent block's hash and the block's token
/// ids, rooted in a key of everything else that changes the K/V (the model, and a per-request salt that keeps tenants
/// apart). Two blocks with equal hashes hold the same K/V because the K/V of a position depends only on the tokens up
/// to it; the cache still compares the tokens on every hit, so a hash collision costs a miss, never a wrong answer.
/// </summary>
public readonly record struct BlockHash(UInt128 Value)
{
    /// <summary>The parent of a sequence's first block: the engine's cache key, then the request's salt (may be empty).</summary>
    public static BlockHash Root(string cacheKey, string? salt)
    {
        var text = salt is null ? cacheKey : cacheKey + "\0salt\0" + salt;
        return new BlockHash(XxHash128.HashToUInt128(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The hash of a block holding <paramref name="tokens"/> whose preceding block hashes to <paramref name="parent"/>.</summary>
    public static BlockHash Chain(BlockHash parent, ReadOnlySpan<int> tokens)
    {
        var length = 16 + (tokens.Length * sizeof(int));
        byte[]? rented = null;
        var buffer = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            MemoryMarshal.Write(buffer, in parent);
            MemoryMarshal.AsBytes(tokens).CopyTo(buffer[16..]);
            return new BlockHash(XxHash128.HashToUInt128(buffer));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public override string ToString() => Value.ToString("x32");
}
