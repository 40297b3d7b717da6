using System.Net;

namespace Brim.Server.Tests.Security;

/// <summary>
/// A request body of a prefix, <c>count</c> copies of one byte and a suffix, written as it is sent: a 100 MB body costs
/// the client no memory, so the memory the test measures is the server's.
/// </summary>
internal sealed class GeneratedContent(byte[] prefix, byte filler, long count, byte[] suffix) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(prefix);
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, filler);
        for (var left = count; left > 0; left -= chunk.Length)
        {
            await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)));
        }

        await stream.WriteAsync(suffix);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = prefix.Length + count + suffix.Length;
        return true;
    }
}
