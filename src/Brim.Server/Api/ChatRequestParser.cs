using System.Text.Json;
using Brim.ChatTemplates;

namespace Brim.Server.Api;

/// <summary>
/// Parses a /v1/chat/completions body: the <c>messages</c> (system, developer, user, assistant, tool; content as a
/// string or text parts; assistant tool calls) rendered through the model's chat template, then the shared fields.
/// </summary>
internal static class ChatRequestParser
{
    public const int MaxMessages = 4096;

    public static GenerationSpec Parse(JsonElement root, ServerContext server)
    {
        RequestFieldPolicy.Check(root, ApiKind.Chat, routed: server.RoutedAs is not null);
        var messages = ParseMessages(root);
        int[] prompt;
        try
        {
            prompt = server.Prompts.Encode(messages);
        }
        catch (ChatTemplateException e)
        {
            throw ApiException.BadRequest($"the chat template rejected the messages: {e.Message}", "messages");
        }

        return SamplingFields.Parse(root, ApiKind.Chat, [prompt], null, server);
    }

    public static List<ChatMessage> ParseMessages(JsonElement root)
    {
        if (JsonFields.Get(root, "messages") is not { } list)
        {
            throw ApiException.BadRequest("'messages' is required", "messages");
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType("messages", "a list of messages", list);
        }

        var count = list.GetArrayLength();
        if (count == 0)
        {
            throw ApiException.BadRequest("'messages' must contain at least one message", "messages");
        }

        if (count > MaxMessages)
        {
            throw ApiException.BadRequest($"'messages' takes at most {MaxMessages} messages, got {count}", "messages");
        }

        var messages = new List<ChatMessage>(count);
        foreach (var item in list.EnumerateArray())
        {
            messages.Add(ParseMessage(item, $"messages[{messages.Count}]"));
        }

        return messages;
    }

    private static ChatMessage ParseMessage(JsonElement item, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType(path, "a message object", item);
        }

        var role = JsonFields.String(item, "role") ?? throw ApiException.BadRequest($"'{path}.role' is required", $"{path}.role");
        role = role switch
        {
            "system" or "user" or "assistant" or "tool" => role,
            "developer" => "system", // OpenAI's newer name for system instructions
            _ => throw ApiException.BadRequest(
                $"'{path}.role' must be one of system, developer, user, assistant, tool; got '{ApiText.Truncate(role)}'", $"{path}.role"),
        };

        var toolCalls = ParseToolCalls(item, path);
        string? content = null;
        List<ChatContentPart>? parts = null;
        switch (JsonFields.Get(item, "content"))
        {
            case null when role == "assistant":
                break;
            case null:
                throw ApiException.BadRequest($"'{path}.content' is required for a {role} message", $"{path}.content");
            case { ValueKind: JsonValueKind.String } text:
                content = text.GetString();
                break;
            case { ValueKind: JsonValueKind.Array } array:
                parts = ParseParts(array, $"{path}.content");
                break;
            case { } other:
                throw JsonFields.WrongType($"{path}.content", "a string or a list of content parts", other);
        }

        return new ChatMessage
        {
            Role = role,
            Content = content,
            ContentParts = parts,
            Name = JsonFields.String(item, "name"),
            ToolCallId = JsonFields.String(item, "tool_call_id"),
            ToolCalls = toolCalls,
        };
    }

    private static List<ChatContentPart> ParseParts(JsonElement array, string path)
    {
        var parts = new List<ChatContentPart>(array.GetArrayLength());
        foreach (var part in array.EnumerateArray())
        {
            var at = $"{path}[{parts.Count}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.WrongType(at, "a content part object", part);
            }

            var type = JsonFields.String(part, "type") ?? throw ApiException.BadRequest($"'{at}.type' is required", $"{at}.type");
            if (type != "text")
            {
                throw ApiException.BadRequest($"'{at}.type' is '{ApiText.Truncate(type)}' but this model only reads text parts", $"{at}.type");
            }

            var text = JsonFields.String(part, "text") ?? throw ApiException.BadRequest($"'{at}.text' is required", $"{at}.text");
            parts.Add(ChatContentPart.FromText(text));
        }

        return parts;
    }

    private static List<ChatToolCall>? ParseToolCalls(JsonElement message, string path)
    {
        if (JsonFields.Get(message, "tool_calls") is not { } calls)
        {
            return null;
        }

        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType($"{path}.tool_calls", "a list", calls);
        }

        var list = new List<ChatToolCall>();
        foreach (var call in calls.EnumerateArray())
        {
            var at = $"{path}.tool_calls[{list.Count}]";
            if (call.ValueKind != JsonValueKind.Object || JsonFields.Get(call, "function") is not { ValueKind: JsonValueKind.Object } function)
            {
                throw ApiException.BadRequest($"'{at}' must be an object with a 'function' object", at);
            }

            list.Add(new ChatToolCall(
                JsonFields.String(call, "id") ?? string.Empty,
                JsonFields.String(function, "name") ?? throw ApiException.BadRequest($"'{at}.function.name' is required", $"{at}.function.name"),
                JsonFields.String(function, "arguments") ?? "{}"));
        }

        return list;
    }
}
