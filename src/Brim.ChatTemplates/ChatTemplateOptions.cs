using System.Text.Json.Nodes;

namespace Brim.ChatTemplates;

/// <summary>What a render may add to the messages; every property is optional.</summary>
public sealed record ChatTemplateOptions
{
    internal static readonly ChatTemplateOptions Default = new();

    /// <summary>Tool definitions (OpenAI's <c>tools</c> array); the template's <c>tools</c> variable. Null means none.</summary>
    public JsonArray? Tools { get; init; }

    /// <summary>
    /// More template variables, e.g. <c>enable_thinking</c> or <c>date_string</c>. They are set last and so win over
    /// the standard ones (messages, tools, special tokens).
    /// </summary>
    public IReadOnlyDictionary<string, JsonNode?>? Variables { get; init; }

    /// <summary>Overrides the tokenizer config's <c>bos_token</c>.</summary>
    public string? BosToken { get; init; }

    /// <summary>Overrides the tokenizer config's <c>eos_token</c>.</summary>
    public string? EosToken { get; init; }

    /// <summary>The time <c>strftime_now</c> reports; the local time when null. Set it for deterministic output.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Loop iterations a single render may run, summed over all loops (and <c>range</c> items).</summary>
    public int MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Longest output, string or list a single render may build, in characters or items.</summary>
    public int MaxOutputLength { get; init; } = 16 * 1024 * 1024;
}
