namespace Brim.Tokenization.Tests;

/// <summary>The server encodes on request threads while the engine decodes: shared word caches must not corrupt results.</summary>
public sealed class ThreadSafetyTests
{
    [Theory]
    [InlineData("qwen2.5")]
    [InlineData("tinyllama")]
    [InlineData("tok512")]
    public void Encode_FromManyThreads_MatchesSequentialResults(string tokenizer)
    {
        // A fresh instance, so that the threads race to fill an empty word cache.
        ITokenizer sut = TokenizerLoader.Load(FixtureTokenizers.PathOf(tokenizer));
        string[] texts = Enumerable.Range(0, 64)
            .Select(i => $"request {i}: {RoundTripTests.Texts[i % RoundTripTests.Texts.Length]} #{i * 7919}")
            .ToArray();

        int[][] parallel = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i] = sut.Encode(texts[i]));

        ITokenizer reference = FixtureTokenizers.Get(tokenizer);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(reference.Encode(texts[i]), parallel[i]);
            Assert.Equal(texts[i], sut.Decode(parallel[i]));
        }
    }
}
