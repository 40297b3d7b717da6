namespace Brim.Tokenization.Tests;

/// <summary>
/// llama2.c's tok512.bin. The reference is llama2.c's own test: stories260K's greedy output
/// (Fixtures copy of /work/notes/stories260K_expected.txt, published in llama2.c's test_all.py).
/// </summary>
public sealed class Llama2cTokenizerTests
{
    private static ITokenizer Tok512 => FixtureTokenizers.Get("tok512");

    private static string ExpectedStory =>
        File.ReadAllText(Path.Combine(FixtureTokenizers.FixturesDirectory, "stories260K_expected.txt"));

    [Fact]
    public void Load_Tok512_HasLlama2cVocabularyAndSpecialIds()
    {
        Assert.Equal(512, Tok512.VocabSize);
        Assert.Equal(1, Tok512.BosTokenId);
        Assert.Equal([2], Tok512.EosTokenIds);
        Assert.True(Tok512.IsSpecial(1));
        Assert.False(Tok512.IsSpecial(3 + 'a'));
    }

    [Fact]
    public void Decode_EncodedGreedyStory_ReproducesLlama2cOutput()
    {
        int[] ids = Tok512.Encode(ExpectedStory);

        Assert.Equal(1, ids[0]);
        Assert.True(ids.Length < ExpectedStory.Length / 2, "merges should compress the story well below one token per character");
        Assert.Equal(ExpectedStory, Tok512.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(RoundTripTexts))]
    public void Encode_Text_EqualsLiteralRunCAlgorithm(string text)
    {
        var reference = new RunCReferenceEncoder(File.ReadAllBytes(FixtureTokenizers.PathOf("tok512")));

        Assert.Equal(reference.Encode(text), Tok512.Encode(text));
    }

    [Fact]
    public void Encode_GreedyStory_EqualsLiteralRunCAlgorithm()
    {
        var reference = new RunCReferenceEncoder(File.ReadAllBytes(FixtureTokenizers.PathOf("tok512")));

        Assert.Equal(reference.Encode(ExpectedStory), Tok512.Encode(ExpectedStory));
    }

    [Fact]
    public void Encode_Text_StartsWithDummyPrefixMergedIntoFirstWord()
    {
        int[] ids = Tok512.Encode("Once upon a time", addSpecialTokens: false);

        // run.c's dummy " " merges with the word: the first piece carries the leading space.
        Assert.StartsWith(" ", Tok512.Decode(ids));
        Assert.Equal("Once upon a time", Tok512.Decode([1, .. ids]));
    }

    [Fact]
    public void Encode_CharacterOutsideVocabulary_FallsBackToByteTokensAtBytePlusThree()
    {
        int[] ids = Tok512.Encode("😀", addSpecialTokens: false);

        // " " dummy prefix, then U+1F600 = F0 9F 98 80 as byte tokens byte+3.
        Assert.Equal([Tok512.TokenToId(" ")!.Value, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3], ids);
        Assert.Equal(" 😀", Tok512.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(RoundTripTexts))]
    public void Decode_EncodedTextWithoutBos_KeepsDummyPrefixSpace(string text)
    {
        // Without BOS in front, run.c's decoder has no reason to strip the dummy prefix.
        Assert.Equal(" " + text, Tok512.Decode(Tok512.Encode(text, addSpecialTokens: false)));
    }

    public static TheoryData<string> RoundTripTexts() => new(RoundTripTests.Texts);

    [Fact]
    public void Decode_PieceAfterBos_LosesLeadingSpaceOnlyThere()
    {
        int once = Tok512.Encode("Once", addSpecialTokens: false).Single();

        Assert.Equal("Once", Tok512.Decode([1, once]));
        Assert.Equal(" Once Once", Tok512.Decode([once, once]));
    }
}
