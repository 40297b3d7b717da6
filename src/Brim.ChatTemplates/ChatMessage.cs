namespace Brim.ChatTemplates;

/// <summary>
/// One message of a conversation, as a chat template sees it: a dict with <c>role</c>, <c>content</c> and, when
/// set, <c>name</c>, <c>tool_calls</c> and <c>tool_call_id</c> (keys that are not set are undefined in the template,
/// which is what templates test with <c>is defined</c> and <c>'tool_calls' in message</c>).
/// </summary>
public sealed record ChatMessage
{
    /// <summary>system, user, assistant, tool, or whatever role the model's template knows.</summary>
    public required string Role { get; init; }

    /// <summary>The text of the message; null for an assistant message that only calls tools.</summary>
    public string? Content { get; init; }

    /// <summary>
    /// Content given as parts (OpenAI's list form) instead of <see cref="Content"/>. Templates that loop over
    /// <c>message.content</c> receive the list as <c>{type, text}</c> dicts; for all others the text parts are
    /// joined with "\n" into one string, as vLLM does.
    /// </summary>
    public IReadOnlyList<ChatContentPart>? ContentParts { get; init; }

    /// <summary>Optional participant name.</summary>
    public string? Name { get; init; }

    /// <summary>Tool calls made by an assistant message.</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>For a tool message: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }

    public static ChatMessage System(string content) => new() { Role = "system", Content = content };

    public static ChatMessage User(string content) => new() { Role = "user", Content = content };

    public static ChatMessage Assistant(string content) => new() { Role = "assistant", Content = content };

    public static ChatMessage Tool(string toolCallId, string content) =>
        new() { Role = "tool", Content = content, ToolCallId = toolCallId };
}

/// <summary>A part of a message's content; <see cref="Type"/> is "text" for text parts.</summary>
public sealed record ChatContentPart(string Type, string? Text = null)
{
    public static ChatContentPart FromText(string text) => new("text", text);
}

/// <summary>
/// A tool call of an assistant message. The template sees
/// <c>{id, type: "function", function: {name, arguments}}</c>, where <c>arguments</c> is the parsed JSON object when
/// <see cref="ArgumentsJson"/> holds one (templates render it with <c>tojson</c>), else the string as given.
/// </summary>
public sealed record ChatToolCall(string Id, string Name, string ArgumentsJson);
