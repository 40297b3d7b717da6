using System.Text.Json;
using System.Text.RegularExpressions;
using Brim.Tokenization.Bpe;
using Brim.Tokenization.ByteLevel;
using Brim.Tokenization.SentencePiece;

namespace Brim.Tokenization.Loading;

/// <summary>
/// Builds a tokenizer from a Hugging Face tokenizer.json. Supported: model BPE, either byte-level (ByteLevel
/// pre-tokenizer, optionally behind a Split regex; NFC normalizer) or SentencePiece-style (Prepend/Replace
/// normalizer or Metaspace pre-tokenizer, byte_fallback). Anything else is refused rather than approximated.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerBase Read(JsonElement root)
    {
        JsonElement model = root.GetProperty("model");
        string modelType = model.TryGetProperty("type", out JsonElement type) ? type.GetString() ?? "" : "BPE";
        if (modelType != "BPE")
        {
            throw new InvalidDataException($"Unsupported tokenizer model type '{modelType}' (Brim supports BPE).");
        }
        Dictionary<string, int> vocab = model.GetProperty("vocab").Deserialize<Dictionary<string, int>>()
            ?? throw new InvalidDataException("model.vocab is null.");
        List<(string Left, string Right)> merges = ReadMerges(model.GetProperty("merges"));
        List<AddedToken> added = ReadAddedTokens(root);

        JsonElement normalizer = Get(root, "normalizer");
        JsonElement preTokenizer = Get(root, "pre_tokenizer");
        TokenizerBase tokenizer = Contains(preTokenizer, "ByteLevel")
            ? BuildByteLevel(vocab, merges, added, model, normalizer, preTokenizer)
            : BuildSentencePiece(vocab, merges, added, model, normalizer, preTokenizer);
        (tokenizer.PrefixIds, tokenizer.SuffixIds) = ReadTemplate(Get(root, "post_processor"));
        return tokenizer;
    }

    private static ByteLevelBpeTokenizer BuildByteLevel(Dictionary<string, int> vocab, List<(string, string)> merges,
        List<AddedToken> added, JsonElement model, JsonElement normalizer, JsonElement preTokenizer)
    {
        string? pattern = null;
        bool addPrefixSpace = false;
        foreach (JsonElement step in Steps(preTokenizer, "pretokenizers"))
        {
            switch (TypeOf(step))
            {
                case "Split":
                    if (pattern is not null)
                    {
                        throw new InvalidDataException("More than one Split pre-tokenizer is not supported.");
                    }
                    pattern = SplitPattern(step);
                    break;
                case "ByteLevel":
                    addPrefixSpace = Bool(step, "add_prefix_space", false);
                    if (Bool(step, "use_regex", true))
                    {
                        pattern ??= PreTokenizerPattern.Gpt2;
                    }
                    break;
                case "Digits" or "Punctuation" or "Whitespace" or "WhitespaceSplit" or "Metaspace":
                    throw new InvalidDataException($"Pre-tokenizer '{TypeOf(step)}' is not supported with byte-level BPE.");
            }
        }
        bool nfc = false;
        foreach (JsonElement step in Steps(normalizer, "normalizers"))
        {
            nfc |= TypeOf(step) == "NFC" ? true
                : throw new InvalidDataException($"Normalizer '{TypeOf(step)}' is not supported with byte-level BPE.");
        }
        var options = new ByteLevelOptions(pattern, addPrefixSpace, Bool(model, "ignore_merges", false), nfc);
        return new ByteLevelBpeTokenizer(vocab, merges, added, options);
    }

    private static SentencePieceBpeTokenizer BuildSentencePiece(Dictionary<string, int> vocab, List<(string, string)> merges,
        List<AddedToken> added, JsonElement model, JsonElement normalizer, JsonElement preTokenizer)
    {
        var scope = DummyPrefixScope.None;
        bool onlyIfNoLeadingSpace = false;
        foreach (JsonElement step in Steps(normalizer, "normalizers"))
        {
            switch (TypeOf(step))
            {
                case "Prepend" when step.GetProperty("prepend").GetString() == "\u2581":
                    scope = DummyPrefixScope.EverySegment; // HF applies normalizers to each segment between added tokens
                    break;
                case "Replace" when step.GetProperty("content").GetString() == "\u2581"
                                    && Get(step, "pattern").TryGetProperty("String", out JsonElement s) && s.GetString() == " ":
                    break; // spaces become "▁": always done below
                default:
                    throw new InvalidDataException($"Normalizer '{step}' is not supported with SentencePiece-style BPE.");
            }
        }
        foreach (JsonElement step in Steps(preTokenizer, "pretokenizers"))
        {
            if (TypeOf(step) != "Metaspace" || Bool(step, "split", false))
            {
                throw new InvalidDataException($"Pre-tokenizer '{step}' is not supported with SentencePiece-style BPE.");
            }
            string scheme = step.TryGetProperty("prepend_scheme", out JsonElement p) ? p.GetString() ?? "always"
                : Bool(step, "add_prefix_space", true) ? "always" : "never";
            scope = scheme switch
            {
                "first" => DummyPrefixScope.FirstSegment,
                "always" => DummyPrefixScope.EverySegment,
                "never" => DummyPrefixScope.None,
                _ => throw new InvalidDataException($"Unknown Metaspace prepend_scheme '{scheme}'."),
            };
            onlyIfNoLeadingSpace = true;
        }

        int size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), added.Select(a => a.Id).DefaultIfEmpty(-1).Max()) + 1;
        var pieces = new string[size];
        Array.Fill(pieces, "");
        foreach (var (piece, id) in vocab)
        {
            pieces[id] = piece;
        }
        foreach (AddedToken token in added)
        {
            pieces[token.Id] = token.Content;
        }
        int? unknownId = model.TryGetProperty("unk_token", out JsonElement unk) && unk.GetString() is { } u
            ? vocab.GetValueOrDefault(u, -1) is var uid && uid >= 0 ? uid : throw new InvalidDataException($"unk_token '{u}' is not in the vocabulary.")
            : null;
        MergeTable mergeTable = MergeTable.FromRankedPairs(merges.Select(m => (IdOf(m.Item1), IdOf(m.Item2), IdOf(m.Item1 + m.Item2))));
        var options = new SentencePieceOptions(scope, onlyIfNoLeadingSpace, RemoveExtraWhitespace: false, unknownId,
            Bool(model, "fuse_unk", false), Bool(model, "byte_fallback", false));
        return new SentencePieceBpeTokenizer(pieces, mergeTable, added, options);

        int IdOf(string token) => vocab.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"Merge refers to '{token}', which is not in the vocabulary.");
    }

    private static string SplitPattern(JsonElement split)
    {
        JsonElement pattern = split.GetProperty("pattern");
        string behavior = split.TryGetProperty("behavior", out JsonElement b) ? b.GetString() ?? "" : "";
        if (behavior != "Isolated" || Bool(split, "invert", false))
        {
            throw new InvalidDataException($"Split behavior '{behavior}' (invert={Bool(split, "invert", false)}) is not supported.");
        }
        return pattern.TryGetProperty("Regex", out JsonElement regex) ? regex.GetString()!
            : Regex.Escape(pattern.GetProperty("String").GetString()!);
    }

    private static (int[] Prefix, int[] Suffix) ReadTemplate(JsonElement postProcessor)
    {
        foreach (JsonElement step in Steps(postProcessor, "processors"))
        {
            if (TypeOf(step) != "TemplateProcessing")
            {
                continue; // ByteLevel and RobertaProcessing-free models add nothing we need
            }
            JsonElement specials = step.GetProperty("special_tokens");
            var prefix = new List<int>();
            var suffix = new List<int>();
            bool seenSequence = false;
            foreach (JsonElement piece in step.GetProperty("single").EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _))
                {
                    seenSequence = true;
                    continue;
                }
                string name = piece.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                IEnumerable<int> ids = specials.GetProperty(name).GetProperty("ids").EnumerateArray().Select(i => i.GetInt32());
                (seenSequence ? suffix : prefix).AddRange(ids);
            }
            return (prefix.ToArray(), suffix.ToArray());
        }
        return ([], []);
    }

    private static List<(string, string)> ReadMerges(JsonElement merges)
    {
        var result = new List<(string, string)>(merges.GetArrayLength());
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.Array)
            {
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
                continue;
            }
            string line = merge.GetString()!;
            int space = line.IndexOf(' ', 1);
            if (space < 0)
            {
                throw new InvalidDataException($"Merge '{line}' is not two tokens separated by a space.");
            }
            result.Add((line[..space], line[(space + 1)..]));
        }
        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        var result = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out JsonElement tokens) && tokens.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in tokens.EnumerateArray())
            {
                result.Add(new AddedToken(t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!,
                    Bool(t, "special", false), Bool(t, "lstrip", false), Bool(t, "rstrip", false)));
            }
        }
        return result;
    }

    /// <summary>The steps of a component that may be a single one, a "Sequence" of them, or null.</summary>
    private static IEnumerable<JsonElement> Steps(JsonElement component, string listName)
    {
        if (component.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }
        if (TypeOf(component) == "Sequence")
        {
            foreach (JsonElement step in component.GetProperty(listName).EnumerateArray())
            {
                foreach (JsonElement inner in Steps(step, listName))
                {
                    yield return inner;
                }
            }
            yield break;
        }
        yield return component;
    }

    private static bool Contains(JsonElement component, string type) =>
        Steps(component, "pretokenizers").Any(s => TypeOf(s) == type);

    private static string TypeOf(JsonElement component) =>
        component.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";

    private static JsonElement Get(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) ? value : default;

    private static bool Bool(JsonElement element, string name, bool fallback) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : fallback;
}
