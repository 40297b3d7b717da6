using System.Text.Json;
using Brim.Tokenization.ByteLevel;
using Brim.Tokenization.Llama2c;
using Brim.Tokenization.Loading;
using Brim.Tokenization.SentencePiece;

namespace Brim.Tokenization;

/// <summary>
/// Loads the tokenizer of a model directory or a tokenizer file. In a directory, tokenizer.json is preferred, then
/// tokenizer.model, then vocab.json + merges.txt, then llama2.c's tokenizer.bin / tok*.bin. The directory's
/// config files supply bos/eos ids.
/// </summary>
public static class TokenizerLoader
{
    public static ITokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Directory.Exists(path) ? FindTokenizerFile(path)
            : File.Exists(path) ? path
            : throw new TokenizerLoadException(path, "no such file or directory");
        string directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        try
        {
            TokenizerBase tokenizer = LoadFile(file, directory, out ModelTokenizerConfig config);
            config.ApplyTo(tokenizer);
            return tokenizer;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException
                                      or InvalidOperationException or FormatException or IOException
                                      or ArgumentException or IndexOutOfRangeException)
        {
            throw new TokenizerLoadException(file, e.Message, e);
        }
    }

    private static string FindTokenizerFile(string directory)
    {
        string[] preferred = ["tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer.bin"];
        foreach (string name in preferred)
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        string? llama2c = Directory.EnumerateFiles(directory, "tok*.bin").Order(StringComparer.Ordinal).FirstOrDefault();
        return llama2c ?? throw new TokenizerLoadException(directory,
            "no tokenizer file found (looked for tokenizer.json, tokenizer.model, vocab.json + merges.txt, tokenizer.bin, tok*.bin)");
    }

    private static TokenizerBase LoadFile(string file, string directory, out ModelTokenizerConfig config)
    {
        string name = Path.GetFileName(file);
        if (name.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            config = ModelTokenizerConfig.Read(directory);
            return Llama2cTokenizer.Read(File.ReadAllBytes(file));
        }
        config = ModelTokenizerConfig.Read(directory);
        if (name.EndsWith(".model", StringComparison.OrdinalIgnoreCase))
        {
            return SentencePieceModelLoader.Load(SentencePieceModel.Parse(File.ReadAllBytes(file)), config);
        }
        if (name.Equals("vocab.json", StringComparison.OrdinalIgnoreCase))
        {
            return LoadVocabAndMerges(file, Path.Combine(directory, "merges.txt"), config);
        }
        if (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(file));
            return TokenizerJsonReader.Read(document.RootElement);
        }
        throw new InvalidDataException("unknown tokenizer file type (expected .json, .model or .bin)");
    }

    /// <summary>The slow-tokenizer layout (GPT-2, Qwen2.5): what transformers converts into a byte-level BPE.</summary>
    private static ByteLevelBpeTokenizer LoadVocabAndMerges(string vocabFile, string mergesFile, ModelTokenizerConfig config)
    {
        if (!File.Exists(mergesFile))
        {
            throw new TokenizerLoadException(mergesFile, "vocab.json needs merges.txt beside it");
        }
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabFile))
            ?? throw new InvalidDataException("vocab.json is null");
        var merges = new List<(string, string)>();
        foreach (string line in File.ReadLines(mergesFile))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
            {
                continue;
            }
            string[] parts = line.Split(' ');
            if (parts.Length != 2)
            {
                throw new TokenizerLoadException(mergesFile, $"line '{line}' is not two tokens separated by a space");
            }
            merges.Add((parts[0], parts[1]));
        }

        List<AddedToken> added = config.AddedTokensDecoder();
        foreach (string token in config.NamedSpecialTokens())
        {
            if (vocab.TryGetValue(token, out int id) && added.All(a => a.Id != id))
            {
                added.Add(new AddedToken(id, token, IsSpecial: true));
            }
        }
        bool qwen2 = config.TokenizerClass?.StartsWith("Qwen2", StringComparison.Ordinal) == true;
        if (!qwen2 && vocab.TryGetValue("<|endoftext|>", out int endOfText) && added.All(a => a.Id != endOfText))
        {
            added.Add(new AddedToken(endOfText, "<|endoftext|>", IsSpecial: true)); // GPT2Tokenizer's default bos/eos/unk
        }
        var options = new ByteLevelOptions(qwen2 ? PreTokenizerPattern.Qwen2 : PreTokenizerPattern.Gpt2,
            config.AddPrefixSpace ?? false, IgnoreMerges: false, NormalizeNfc: qwen2);
        var tokenizer = new ByteLevelBpeTokenizer(vocab, merges, added, options);
        // The slow tokenizer classes add bos/eos only when tokenizer_config.json asks for it (Qwen2.5 does not).
        if (config.AddBosToken == true && config.BosToken is { } bosToken && tokenizer.TokenToId(bosToken) is int bos)
        {
            tokenizer.PrefixIds = [bos];
        }
        if (config.AddEosToken == true && config.EosToken is { } eosToken && tokenizer.TokenToId(eosToken) is int eos)
        {
            tokenizer.SuffixIds = [eos];
        }
        return tokenizer;
    }
}
