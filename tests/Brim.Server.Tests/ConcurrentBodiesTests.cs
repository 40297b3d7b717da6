using System.Buffers;
using System.Text;
using Brim.Server.Api;

namespace Brim.Server.Tests;

/// <summary>
/// A parsed request body owns its bytes: Kestrel hands the connection's buffer back to its pool as soon as the body is
/// parsed, and another request's bytes then land in the same memory. A document that kept reading that buffer once gave
/// concurrent requests each other's prompts (different greedy texts under load) or none ("'prompt' is required" for a
/// body that had one).
/// </summary>
public class ConcurrentBodiesTests
{
    [Fact]
    public void Parse_BufferReusedAfterParsing_DocumentKeepsTheOriginalBody()
    {
        var buffer = Encoding.UTF8.GetBytes("""{"model":"m","prompt":"Once upon a time"}""");
        using var document = RequestBody.Parse(new ReadOnlySequence<byte>(buffer));

        // What the pool does next: the same memory now carries another request.
        var other = Encoding.UTF8.GetBytes("""{"model":"m","xxxxxx":"The cat sat down"}""");
        Assert.Equal(buffer.Length, other.Length);
        other.CopyTo(buffer, 0);

        Assert.Equal("Once upon a time", document.RootElement.GetProperty("prompt").GetString());
    }
}
