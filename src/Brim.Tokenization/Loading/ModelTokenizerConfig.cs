using System.Text.Json;

namespace Brim.Tokenization.Loading;

/// <summary>
/// The model directory's tokenizer_config.json, special_tokens_map.json, generation_config.json and config.json,
/// read for what the tokenizer file itself does not say: bos/eos ids, added tokens of the vocab.json layout,
/// the tokenizer class and add_bos_token.
/// </summary>
internal sealed class ModelTokenizerConfig
{
    private readonly JsonElement _tokenizerConfig;
    private readonly JsonElement _specialTokensMap;
    private readonly JsonElement _generationConfig;
    private readonly JsonElement _modelConfig;

    private ModelTokenizerConfig(string directory)
    {
        _tokenizerConfig = ReadOptional(directory, "tokenizer_config.json");
        _specialTokensMap = ReadOptional(directory, "special_tokens_map.json");
        _generationConfig = ReadOptional(directory, "generation_config.json");
        _modelConfig = ReadOptional(directory, "config.json");
    }

    public static ModelTokenizerConfig Read(string directory) => new(directory);

    public string? TokenizerClass => StringOf(_tokenizerConfig, "tokenizer_class");

    public bool? AddBosToken => BoolOf(_tokenizerConfig, "add_bos_token");

    public bool? AddEosToken => BoolOf(_tokenizerConfig, "add_eos_token");

    public bool? AddPrefixSpace => BoolOf(_tokenizerConfig, "add_prefix_space");

    /// <summary>The bos token string (tokenizer_config.json, else special_tokens_map.json); null if none is named.</summary>
    public string? BosToken => TokenString("bos_token");

    public string? EosToken => TokenString("eos_token");

    /// <summary>tokenizer_config.json's added_tokens_decoder (id → token), the vocab.json layout's special tokens.</summary>
    public List<AddedToken> AddedTokensDecoder()
    {
        var tokens = new List<AddedToken>();
        if (_tokenizerConfig.ValueKind == JsonValueKind.Object
            && _tokenizerConfig.TryGetProperty("added_tokens_decoder", out JsonElement decoder))
        {
            foreach (JsonProperty entry in decoder.EnumerateObject())
            {
                JsonElement t = entry.Value;
                tokens.Add(new AddedToken(int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture),
                    t.GetProperty("content").GetString()!, BoolOf(t, "special") ?? false,
                    BoolOf(t, "lstrip") ?? false, BoolOf(t, "rstrip") ?? false));
            }
        }
        return tokens;
    }

    /// <summary>Token strings the configs name as bos/eos/unk/pad (a declared null stays null).</summary>
    public IEnumerable<string> NamedSpecialTokens() =>
        new[] { "bos_token", "eos_token", "unk_token", "pad_token" }
            .Select(TokenString).OfType<string>();

    /// <summary>Fills in BosTokenId and EosTokenIds. The tokenizer's own declaration of bos wins over config.json;
    /// eos ids are the union of generation_config (Llama 3 lists several), tokenizer_config and config.json.</summary>
    public void ApplyTo(TokenizerBase tokenizer)
    {
        bool bosDeclared = Declares("bos_token");
        int? bos = bosDeclared ? IdOfToken(tokenizer, TokenString("bos_token")) : null;
        if (!bosDeclared)
        {
            bos = IntsOf(_generationConfig, "bos_token_id").Concat(IntsOf(_modelConfig, "bos_token_id"))
                .Cast<int?>().FirstOrDefault() ?? tokenizer.BosTokenId ?? tokenizer.PrefixIds.Cast<int?>().FirstOrDefault();
        }
        tokenizer.BosTokenId = bos is int b && b < tokenizer.VocabSize ? b : null;

        var eos = new List<int>();
        eos.AddRange(IntsOf(_generationConfig, "eos_token_id"));
        if (IdOfToken(tokenizer, TokenString("eos_token")) is int fromTokenizer)
        {
            eos.Add(fromTokenizer);
        }
        eos.AddRange(IntsOf(_modelConfig, "eos_token_id"));
        eos.AddRange(tokenizer.EosTokenIds);
        tokenizer.EosTokenIds = eos.Where(id => id >= 0 && id < tokenizer.VocabSize).Distinct().ToArray();
    }

    private bool Declares(string key) =>
        (_tokenizerConfig.ValueKind == JsonValueKind.Object && _tokenizerConfig.TryGetProperty(key, out _))
        || (_specialTokensMap.ValueKind == JsonValueKind.Object && _specialTokensMap.TryGetProperty(key, out _));

    private string? TokenString(string key) => TokenStringOf(_tokenizerConfig, key) ?? TokenStringOf(_specialTokensMap, key);

    private static int? IdOfToken(TokenizerBase tokenizer, string? token) => token is null ? null : tokenizer.TokenToId(token);

    /// <summary>A token is written either as a string or as an object with "content".</summary>
    private static string? TokenStringOf(JsonElement config, string key)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(key, out JsonElement value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out JsonElement c) => c.GetString(),
            _ => null,
        };
    }

    private static IEnumerable<int> IntsOf(JsonElement config, string key)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(key, out JsonElement value))
        {
            return [];
        }
        return value.ValueKind switch
        {
            JsonValueKind.Number => [value.GetInt32()],
            JsonValueKind.Array => value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetInt32()).ToArray(),
            _ => [],
        };
    }

    private static string? StringOf(JsonElement config, string key) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static bool? BoolOf(JsonElement config, string key) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(key, out JsonElement v)
            && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    private static JsonElement ReadOptional(string directory, string fileName)
    {
        string path = Path.Combine(directory, fileName);
        if (!File.Exists(path))
        {
            return default;
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path),
                new JsonDocumentOptions { AllowTrailingCommas = true });
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"invalid JSON ({e.Message})", e);
        }
    }
}
