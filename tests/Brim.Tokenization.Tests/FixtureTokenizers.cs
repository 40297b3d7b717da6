using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Brim.Tests;

namespace Brim.Tokenization.Tests;

/// <summary>The real tokenizers under test, loaded once per test run (Qwen's 150k merges take a moment).</summary>
internal static class FixtureTokenizers
{
    /// <summary>Names match expected_ids.json; ".model" variants load tokenizer.model instead of tokenizer.json.</summary>
    public static readonly string[] HuggingFace =
        ["gpt2", "gpt2-llama3-regex", "qwen2.5", "tinyllama", "tinyllama.model", "mistral", "mistral.model"];

    public static readonly string[] All = [.. HuggingFace, "tok512"];

    private static readonly ConcurrentDictionary<string, Lazy<ITokenizer>> Cache = new();

    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static ITokenizer Get(string name) =>
        Cache.GetOrAdd(name, n => new Lazy<ITokenizer>(() => TokenizerLoader.Load(PathOf(n)))).Value;

    public static string PathOf(string name) => name switch
    {
        "tok512" => Path.Combine(RepoPaths.BundledModel, "tok512.bin"),
        "tinyllama.model" => Path.Combine(FixturesDirectory, "tinyllama", "tokenizer.model"),
        "mistral.model" => Path.Combine(FixturesDirectory, "mistral", "tokenizer.model"),
        "gpt2-llama3-regex" => Gpt2WithLlama3Regex(),
        _ => Path.Combine(FixturesDirectory, name),
    };

    /// <summary>
    /// GPT-2's vocabulary behind Llama 3's pre-tokenizer (Split on the Llama 3 regex, then ByteLevel without regex),
    /// the same file make_expected.mjs builds: it exercises the Llama 3 regex, whose own tokenizer.json is too big to ship.
    /// </summary>
    private static string Gpt2WithLlama3Regex()
    {
        string directory = Path.Combine(Path.GetTempPath(), "brim-tok-tests", "gpt2-llama3-regex");
        Directory.CreateDirectory(directory);
        JsonNode json = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturesDirectory, "gpt2", "tokenizer.json")))!;
        json["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
               "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """);
        string path = Path.Combine(directory, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        foreach (string config in new[] { "tokenizer_config.json", "config.json", "generation_config.json" })
        {
            File.Copy(Path.Combine(FixturesDirectory, "gpt2", config), Path.Combine(directory, config), overwrite: true);
        }
        return path;
    }
}
