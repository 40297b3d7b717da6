using Brim.Tests;

namespace Brim.Tokenization.Tests;

public sealed class TokenizerLoaderTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "brim-tok-loader-" + Guid.NewGuid().ToString("N"));

    public TokenizerLoaderTests() => Directory.CreateDirectory(_scratch);

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Load_MissingPath_ThrowsNamingThePath()
    {
        string missing = Path.Combine(_scratch, "nope", "tokenizer.json");

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(missing));

        Assert.Equal(missing, e.FilePath);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DirectoryWithoutTokenizer_ThrowsListingWhatWasLookedFor()
    {
        // Llama 3.2's configs without its (too large to ship) tokenizer.json.
        string llama = Path.Combine(FixtureTokenizers.FixturesDirectory, "llama3.2");

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(llama));

        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
        Assert.Equal(llama, e.FilePath);
    }

    [Fact]
    public void Load_TruncatedTokenizerJson_ThrowsNamingTheFile()
    {
        string file = WriteScratch("tokenizer.json", FixtureBytes("gpt2", "tokenizer.json").AsSpan(0, 100_000).ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));

        Assert.Equal(file, e.FilePath);
    }

    [Fact]
    public void Load_MalformedTokenizerConfig_ThrowsNamingTheConfigFile()
    {
        WriteScratch("tokenizer.json", FixtureBytes("gpt2", "tokenizer.json"));
        string config = WriteScratch("tokenizer_config.json", "{\"bos_token\": "u8.ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));

        Assert.Equal(config, e.FilePath);
    }

    [Fact]
    public void Load_UnknownModelType_ThrowsNamingTheType()
    {
        WriteScratch("tokenizer.json", """{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"""u8.ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));

        Assert.Contains("WordPiece", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TokenizerJsonWithoutModel_Throws()
    {
        WriteScratch("tokenizer.json", """{"version": "1.0"}"""u8.ToArray());

        Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));
    }

    [Fact]
    public void Load_TruncatedSentencePieceModel_ThrowsNamingTheFile()
    {
        string file = WriteScratch("tokenizer.model", FixtureBytes("tinyllama", "tokenizer.model").AsSpan(0, 1234).ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(file));

        Assert.Equal(file, e.FilePath);
    }

    [Fact]
    public void Load_TruncatedLlama2cTokenizer_ThrowsNamingTheFile()
    {
        byte[] tok512 = File.ReadAllBytes(FixtureTokenizers.PathOf("tok512"));
        string file = WriteScratch("tok512.bin", tok512.AsSpan(0, tok512.Length - 3).ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));

        Assert.Equal(file, e.FilePath);
        Assert.Contains("truncated", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Load_VocabJsonWithoutMerges_ThrowsNamingMergesFile()
    {
        WriteScratch("vocab.json", """{"a": 0}"""u8.ToArray());

        var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(_scratch));

        Assert.Equal(Path.Combine(_scratch, "merges.txt"), e.FilePath);
    }

    [Fact]
    public void Load_Llama2cModelDirectory_FindsTokFile()
    {
        // models/stories260K holds the checkpoint stories260K.bin beside tok512.bin: only tok*.bin is a tokenizer.
        ITokenizer sut = TokenizerLoader.Load(RepoPaths.BundledModel);

        Assert.Equal(512, sut.VocabSize);
        Assert.Equal(FixtureTokenizers.Get("tok512").Encode("Lily"), sut.Encode("Lily"));
    }

    [Fact]
    public void Load_TinyLlamaDirectory_PrefersTokenizerJson()
    {
        // The two files differ only in how a dummy prefix follows a special token inside the text.
        ITokenizer fromDirectory = TokenizerLoader.Load(Path.Combine(FixtureTokenizers.FixturesDirectory, "tinyllama"));

        Assert.Equal(FixtureTokenizers.Get("tinyllama").Encode("Hi</s>there"), fromDirectory.Encode("Hi</s>there"));
        Assert.NotEqual(FixtureTokenizers.Get("tinyllama.model").Encode("Hi</s>there"), fromDirectory.Encode("Hi</s>there"));
    }

    [Fact]
    public void Load_Qwen25_HasChatTokensAndBothEosIdsAndNoBos()
    {
        ITokenizer qwen = FixtureTokenizers.Get("qwen2.5");

        Assert.Equal(151665, qwen.VocabSize);
        Assert.Null(qwen.BosTokenId);
        Assert.Equal([151645, 151643], qwen.EosTokenIds); // generation_config: <|im_end|>, <|endoftext|>
        Assert.Equal(151644, qwen.TokenToId("<|im_start|>"));
        Assert.True(qwen.IsSpecial(151644));
        Assert.False(qwen.IsSpecial(151657)); // <tool_call> is an added but not a special token
        Assert.Equal("<tool_call>", qwen.Decode([151657]));
    }

    [Theory]
    [InlineData("gpt2", 50257, 50256, 50256)]
    [InlineData("tinyllama", 32000, 1, 2)]
    [InlineData("tinyllama.model", 32000, 1, 2)]
    [InlineData("mistral", 32768, 1, 2)]
    [InlineData("mistral.model", 32768, 1, 2)]
    public void Load_Fixture_ReadsBosAndEosFromConfigs(string tokenizer, int vocabSize, int bos, int eos)
    {
        ITokenizer sut = FixtureTokenizers.Get(tokenizer);

        Assert.Equal(vocabSize, sut.VocabSize);
        Assert.Equal(bos, sut.BosTokenId);
        Assert.Equal([eos], sut.EosTokenIds);
        Assert.True(sut.IsSpecial(eos));
    }

    [Fact]
    public void Load_GenerationConfigWithSeveralEos_ReturnsUnionInOrderWithinVocabulary()
    {
        // Llama 3 style: generation_config lists several eos ids; config.json repeats one; ids beyond the vocabulary are dropped.
        WriteScratch("tokenizer.json", FixtureBytes("gpt2", "tokenizer.json"));
        WriteScratch("generation_config.json", """{"eos_token_id": [13, 198, 128009]}"""u8.ToArray());
        WriteScratch("config.json", """{"eos_token_id": 50256, "bos_token_id": 50256}"""u8.ToArray());

        ITokenizer sut = TokenizerLoader.Load(_scratch);

        Assert.Equal([13, 198, 50256], sut.EosTokenIds);
        Assert.Equal(50256, sut.BosTokenId);
    }

    [Fact]
    public void Load_VocabAndMergesAskingForBos_PrependsBos()
    {
        // Qwen2.5's layout with add_bos_token switched on: the tokenizer_config decides, as in the slow tokenizer.
        string qwen = Path.Combine(FixtureTokenizers.FixturesDirectory, "qwen2.5");
        File.Copy(Path.Combine(qwen, "vocab.json"), Path.Combine(_scratch, "vocab.json"));
        File.Copy(Path.Combine(qwen, "merges.txt"), Path.Combine(_scratch, "merges.txt"));
        WriteScratch("tokenizer_config.json", """
            {"tokenizer_class": "Qwen2Tokenizer", "add_bos_token": true, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
             "added_tokens_decoder": {"151643": {"content": "<|endoftext|>", "special": true}}}
            """u8.ToArray());

        ITokenizer sut = TokenizerLoader.Load(_scratch);

        Assert.Equal([151643, .. FixtureTokenizers.Get("qwen2.5").Encode("Hello world")], sut.Encode("Hello world"));
        Assert.Equal(151643, sut.BosTokenId);
    }

    private string WriteScratch(string name, byte[] content)
    {
        string path = Path.Combine(_scratch, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static byte[] FixtureBytes(string model, string file) =>
        File.ReadAllBytes(Path.Combine(FixtureTokenizers.FixturesDirectory, model, file));
}
