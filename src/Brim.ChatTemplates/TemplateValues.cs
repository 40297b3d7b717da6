using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Brim.ChatTemplates.Jinja;

namespace Brim.ChatTemplates;

/// <summary>Converts the inputs of a render (messages, JSON tools and variables) into template values.</summary>
internal static class TemplateValues
{
    public static List<object?> FromMessages(IReadOnlyList<ChatMessage> messages, bool contentAsList)
    {
        var result = new List<object?>(messages.Count);
        foreach (ChatMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message);
            var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["role"] = message.Role ?? throw new ChatTemplateException("A chat message has no role."),
                ["content"] = Content(message, contentAsList),
            };
            if (message.Name is not null)
            {
                dict["name"] = message.Name;
            }

            if (message.ToolCalls is { } calls)
            {
                dict["tool_calls"] = calls.Select(call => (object?)ToolCall(call)).ToList();
            }

            if (message.ToolCallId is not null)
            {
                dict["tool_call_id"] = message.ToolCallId;
            }

            result.Add(dict);
        }

        return result;
    }

    private static object? Content(ChatMessage message, bool contentAsList)
    {
        if (message.ContentParts is not { } parts)
        {
            return message.Content;
        }

        if (message.Content is not null)
        {
            throw new ChatTemplateException($"A '{message.Role}' message sets both Content and ContentParts; set one.");
        }

        if (contentAsList)
        {
            return parts.Select(part =>
            {
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal) { ["type"] = part.Type };
                if (part.Text is not null)
                {
                    dict["text"] = part.Text;
                }

                return (object?)dict;
            }).ToList();
        }

        var nonText = parts.FirstOrDefault(part => part.Type != "text");
        if (nonText is not null)
        {
            throw new ChatTemplateException(
                $"This chat template takes message content as a string; a '{nonText.Type}' content part cannot be rendered by it.");
        }

        return string.Join("\n", parts.Select(part => part.Text ?? ""));
    }

    private static OrderedDictionary<string, object?> ToolCall(ChatToolCall call)
    {
        object? arguments = call.ArgumentsJson;
        try
        {
            if (JsonNode.Parse(call.ArgumentsJson) is JsonObject parsed)
            {
                arguments = FromJson(parsed);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the template gets the string as the caller wrote it.
        }

        return new OrderedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = call.Id,
            ["type"] = "function",
            ["function"] = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["name"] = call.Name,
                ["arguments"] = arguments,
            },
        };
    }

    /// <summary>JSON to template values: objects keep their key order; integral numbers become int, others float.</summary>
    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => ToDict(obj),
        JsonArray array => array.Select(FromJson).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => Number(value.ToJsonString()),
            _ => null,
        },
        _ => null,
    };

    private static OrderedDictionary<string, object?> ToDict(JsonObject obj)
    {
        var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            dict[key] = FromJson(value);
        }

        return dict;
    }

    private static object Number(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer)
            ? (object)integer // boxed apart: a plain conditional would widen the long to double
            : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
