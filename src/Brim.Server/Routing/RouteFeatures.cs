using System.Text.Json;
using Brim.Server.Api;

namespace Brim.Server.Routing;

/// <summary>
/// What the router's rules look at in a request: its longest prompt in tokens (as the default model tokenizes it), the
/// max_tokens it asked for, its service_tier, reasoning_effort and metadata. Everything here the client sent in
/// plain sight, so a route can always be explained from the request.
/// </summary>
internal sealed record RouteFeatures(int PromptTokens, int? MaxTokens, string? ServiceTier, string? ReasoningEffort, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The reasoning_effort values OpenAI defines; the router reads the field, no model is steered by it.</summary>
    public static readonly string[] ReasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh"];

    /// <param name="promptTokens">The longest prompt of the request in tokens (<see cref="CountPromptTokens(JsonElement, ApiKind, ServerContext)"/>).</param>
    public static RouteFeatures Read(JsonElement root, int promptTokens)
    {
        var maxTokensField = JsonFields.Get(root, "max_completion_tokens") is not null ? "max_completion_tokens" : "max_tokens";
        var effort = JsonFields.String(root, "reasoning_effort");
        if (effort is not null && !ReasoningEfforts.Contains(effort, StringComparer.Ordinal))
        {
            throw ApiException.BadRequest(
                $"'reasoning_effort' must be one of {string.Join(", ", ReasoningEfforts)}; got '{ApiText.Truncate(effort)}'", "reasoning_effort");
        }

        return new RouteFeatures(
            promptTokens,
            JsonFields.Int(root, maxTokensField, int.MinValue, int.MaxValue),
            JsonFields.String(root, "service_tier"),
            effort,
            ReadMetadata(root));
    }

    /// <summary>
    /// The longest prompt of a request as <paramref name="model"/> tokenizes it (its chat template for messages), without
    /// holding it to that model's context: a prompt too long for the small model is what a prompt-length rule routes to
    /// the large one. Shapes are checked as the endpoint's parser checks them.
    /// </summary>
    public static int CountPromptTokens(JsonElement root, ApiKind kind, ServerContext model)
    {
        if (kind == ApiKind.Completion)
        {
            return CompletionRequestParser.ParsePrompts(root, model).Prompts.Max(p => p.Length);
        }

        try
        {
            return model.Prompts.Encode(ChatRequestParser.ParseMessages(root)).Length;
        }
        catch (ChatTemplates.ChatTemplateException e)
        {
            throw ApiException.BadRequest($"the chat template rejected the messages: {e.Message}", "messages");
        }
    }

    private static Dictionary<string, string> ReadMetadata(JsonElement root)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (JsonFields.Get(root, "metadata") is not { ValueKind: JsonValueKind.Object } metadata)
        {
            return map;
        }

        foreach (var property in metadata.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.String)
            {
                map[property.Name] = property.Value.GetString()!;
            }
        }

        return map;
    }
}
