using System.Text.Json;

namespace Brim.Tokenization.Tests;

/// <summary>
/// Ids must equal what Hugging Face's tokenizer produces. The expected ids in Fixtures/expected_ids.json were
/// produced by the npm package @huggingface/tokenizers 0.2.0 (the tokenizer.json engine of transformers.js 4.x),
/// run by Fixtures/make_expected.mjs on the fixture files. For Qwen2.5 (vocab.json + merges.txt) that script
/// assembles the tokenizer.json the way transformers' Qwen2Converter does. The JS package cannot read
/// SentencePiece's tokenizer.model, so the ".model" tokenizers are held to the ids of the same model's
/// tokenizer.json (HF's fast tokenizer), except where the two files define different behaviour: texts with special
/// tokens in the middle (tokenizer.json's Prepend normalizer prefixes every segment; the tokenizer.model path,
/// like HF's legacy=false slow tokenizer, prefixes once) and, for Mistral, texts that start with a space
/// (its tokenizer.json's Metaspace skips the dummy prefix there; SentencePiece's add_dummy_prefix always adds it).
/// </summary>
public sealed class HuggingFaceParityTests
{
    private static readonly Lazy<Dictionary<string, ExpectedCase[]>> Expected = new(LoadExpected);

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string name in FixtureTokenizers.HuggingFace)
        {
            ExpectedCase[] cases = Expected.Value[ExpectationsOf(name)];
            for (int i = 0; i < cases.Length; i++)
            {
                if (name.EndsWith(".model", StringComparison.Ordinal)
                    && (cases[i].HasSpecialTokenInside || (name == "mistral.model" && cases[i].Text.StartsWith(' '))))
                {
                    continue;
                }
                data.Add(name, i);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_FixtureText_EqualsHuggingFaceIds(string tokenizer, int caseIndex)
    {
        ExpectedCase expected = Expected.Value[ExpectationsOf(tokenizer)][caseIndex];
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);

        Assert.Equal(expected.Ids, sut.Encode(expected.Text, addSpecialTokens: true));
        Assert.Equal(expected.IdsNoSpecial, sut.Encode(expected.Text, addSpecialTokens: false));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decode_HuggingFaceIds_EqualsHuggingFaceText(string tokenizer, int caseIndex)
    {
        ExpectedCase expected = Expected.Value[ExpectationsOf(tokenizer)][caseIndex];

        Assert.Equal(expected.Decoded, FixtureTokenizers.Get(tokenizer).Decode(expected.Ids, skipSpecialTokens: true));
    }

    [Theory]
    [InlineData("qwen2.5", "<|im_start|>user\nHi 👋<|im_end|>\n<|im_start|>assistant\n")]
    [InlineData("gpt2", "one<|endoftext|>two")]
    [InlineData("mistral", "[INST] Bonjour 🇫🇷 [/INST]")]
    public void Decode_KeepingSpecialTokens_ReturnsTextWithThem(string tokenizer, string text)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);

        Assert.Equal(text, sut.Decode(sut.Encode(text, addSpecialTokens: false), skipSpecialTokens: false));
    }

    [Fact]
    public void ExpectedIds_EveryTokenizer_HasAtLeastTenCases()
    {
        foreach (string name in FixtureTokenizers.HuggingFace)
        {
            Assert.True(Cases().Count(row => (string)row[0] == name) >= 10, name);
        }
    }

    private static string ExpectationsOf(string tokenizer) => tokenizer.Replace(".model", "", StringComparison.Ordinal);

    private static Dictionary<string, ExpectedCase[]> LoadExpected()
    {
        using JsonDocument document = JsonDocument.Parse(
            File.ReadAllBytes(Path.Combine(FixtureTokenizers.FixturesDirectory, "expected_ids.json")));
        var result = new Dictionary<string, ExpectedCase[]>();
        foreach (JsonProperty tokenizer in document.RootElement.GetProperty("tokenizers").EnumerateObject())
        {
            result[tokenizer.Name] = tokenizer.Value.EnumerateArray().Select(c => new ExpectedCase(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                c.GetProperty("idsNoSpecial").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!)).ToArray();
        }
        return result;
    }

    private sealed record ExpectedCase(string Text, int[] Ids, int[] IdsNoSpecial, string Decoded)
    {
        /// <summary>Added tokens such as &lt;/s&gt; or [INST] written into the text (not at its very start).</summary>
        public bool HasSpecialTokenInside => new[] { "<s>", "</s>", "[INST]", "[/INST]" }.Any(Text.Contains);
    }
}
