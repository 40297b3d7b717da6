using System.Text.Json.Nodes;

namespace Brim.ChatTemplates.Tests;

/// <summary>Renders a bare template with variables given as a JSON object, for tests of the language itself.</summary>
internal static class TemplateHarness
{
    public static string Render(string template, string variablesJson = "{}", ChatTemplateOptions? options = null)
    {
        var variables = JsonNode.Parse(variablesJson)!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone());
        options = (options ?? new ChatTemplateOptions()) with { Variables = variables };
        return ChatTemplate.Parse(template).Render([], addGenerationPrompt: false, options);
    }

    public static ChatTemplateException RenderFails(string template, string variablesJson = "{}", ChatTemplateOptions? options = null) =>
        Assert.Throws<ChatTemplateException>(() => Render(template, variablesJson, options));
}
