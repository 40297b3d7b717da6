using System.Diagnostics;
using Xunit.Abstractions;

namespace Brim.Tokenization.Tests;

/// <summary>Encoding a 2,000-word prompt must cost milliseconds: the server tokenizes on the request path.</summary>
public sealed class EncodeSpeedTests(ITestOutputHelper output)
{
    private static readonly string TwoThousandWords = BuildText();

    [Theory]
    [InlineData("gpt2")]
    [InlineData("qwen2.5")]
    [InlineData("tinyllama")]
    [InlineData("mistral.model")]
    [InlineData("tok512")]
    public void Encode_TwoThousandWords_TakesMilliseconds(string tokenizer)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);
        sut.Encode("warm up the JIT: " + TwoThousandWords[..500]);

        var watch = Stopwatch.StartNew();
        int[] ids = sut.Encode(TwoThousandWords);
        watch.Stop();

        output.WriteLine($"{tokenizer}: {watch.Elapsed.TotalMilliseconds:F1} ms for {ids.Length} tokens");
        Assert.True(ids.Length > 2000);
        // Typically well under 50 ms; the bound leaves room for a busy 2-core CI machine.
        Assert.True(watch.ElapsedMilliseconds < 1000, $"{tokenizer}: {watch.ElapsedMilliseconds} ms for {ids.Length} tokens");
    }

    private static string BuildText()
    {
        string[] words = ("the engine keeps every batch slot busy while paged attention lets many sequences share memory "
            + "and the scheduler admits online requests first then fills free slots with offline work 日本語 😀 café").Split(' ');
        var random = new Random(7);
        return string.Join(' ', Enumerable.Range(0, 2000).Select(i => words[random.Next(words.Length)] + (i % 17 == 0 ? ".\n" : "")));
    }
}
