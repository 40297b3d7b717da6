namespace Brim.Tokenization.Tests;

public sealed class IncrementalDetokenizerTests
{
    /// <summary>Emoji (ZWJ, flags, skin tones) and CJK split across byte-fallback and byte-level tokens.</summary>
    public static readonly string[] Texts =
    [
        "家族👨‍👩‍👧‍👦が来た！🇯🇵🇫🇷 今日は😀😃😄、中文也行。",
        "Hello 世界 🌍🌎🌏 — naïve café, 한국어 텍스트 👍🏽👍🏿",
        "𠀀𠀁 astral + 🏳️‍🌈 flags\nnew line 🎉",
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string tokenizer in FixtureTokenizers.All)
        {
            foreach (string text in Texts)
            {
                data.Add(tokenizer, text);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Add_EachOutputToken_DeltasConcatenateToFullDecode(string tokenizer, string text)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);
        int[] output = sut.Encode(text, addSpecialTokens: false);
        var detokenizer = new IncrementalDetokenizer(sut);

        List<string> deltas = output.Select(detokenizer.Add).ToList();
        deltas.Add(detokenizer.Flush());

        Assert.Equal(sut.Decode(output), string.Concat(deltas));
        Assert.DoesNotContain(deltas, d => d.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Add_AfterPrompt_DeltasEqualTextOfPromptAndOutputMinusPrompt(string tokenizer, string text)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);
        int[] prompt = sut.Encode("User says: héllo 👋 then", addSpecialTokens: true);
        int[] output = sut.Encode(text, addSpecialTokens: false);
        var detokenizer = new IncrementalDetokenizer(sut, prompt);

        string streamed = string.Concat(output.Select(detokenizer.Add)) + detokenizer.Flush();

        string promptText = sut.Decode(prompt);
        string fullText = sut.Decode([.. prompt, .. output]);
        Assert.StartsWith(promptText, fullText, StringComparison.Ordinal);
        Assert.Equal(fullText[promptText.Length..], streamed);
        Assert.DoesNotContain('\uFFFD', streamed);
    }

    [Fact]
    public void Add_ByteFallbackPiecesOfOneEmoji_HoldsTextBackUntilTheCharacterIsComplete()
    {
        ITokenizer tok512 = FixtureTokenizers.Get("tok512");
        int[] output = tok512.Encode("😀", addSpecialTokens: false); // " " then four byte tokens
        var detokenizer = new IncrementalDetokenizer(tok512);

        string[] deltas = output.Select(detokenizer.Add).ToArray();

        Assert.Equal([" ", "", "", "", "😀"], deltas);
    }

    [Theory]
    [InlineData("tinyllama")]
    [InlineData("qwen2.5")]
    public void Add_SpecialToken_EmitsNothingForIt(string tokenizer)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);
        int eos = sut.EosTokenIds[0];
        var detokenizer = new IncrementalDetokenizer(sut);

        string before = string.Concat(sut.Encode("Done.", addSpecialTokens: false).Select(detokenizer.Add));

        Assert.Equal("Done.", before);
        Assert.Equal("", detokenizer.Add(eos));
        Assert.Equal("", detokenizer.Flush());
    }

    [Fact]
    public void Add_LongStream_DecodesOnlyASmallWindow()
    {
        var counting = new CountingTokenizer(FixtureTokenizers.Get("gpt2"));
        int[] output = counting.Encode(string.Concat(Enumerable.Repeat("one two three four five six seven eight. ", 200)), false);
        var detokenizer = new IncrementalDetokenizer(counting);

        string streamed = string.Concat(output.Select(detokenizer.Add));
        long windowIds = counting.DecodedIds;

        Assert.Equal(counting.Decode(output), streamed);
        // Two window decodes per token, each of a handful of ids: linear, not quadratic, in the stream length.
        Assert.True(windowIds < output.Length * 12, $"{windowIds} ids decoded for {output.Length} tokens");
    }

    /// <summary>The real tokenizer, counting how many ids the detokenizer asks it to decode.</summary>
    private sealed class CountingTokenizer(ITokenizer inner) : ITokenizer
    {
        public long DecodedIds { get; private set; }

        public int VocabSize => inner.VocabSize;

        public int? BosTokenId => inner.BosTokenId;

        public IReadOnlyList<int> EosTokenIds => inner.EosTokenIds;

        public int[] Encode(string text, bool addSpecialTokens = true) => inner.Encode(text, addSpecialTokens);

        public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
        {
            DecodedIds += ids.Length;
            return inner.Decode(ids, skipSpecialTokens);
        }

        public int? TokenToId(string token) => inner.TokenToId(token);

        public bool IsSpecial(int id) => inner.IsSpecial(id);
    }
}
