using System.Text;
using System.Text.Json;

namespace Brim.Server.Api;

/// <summary>
/// Refuses JSON whose strings are not valid Unicode. JSON lets a string carry an unpaired surrogate escape
/// (<c>"\ud800"</c>); System.Text.Json parses the document but throws when such a string is read or written, so without
/// this check any field (prompt, role, model, stop, custom_id, a field nobody reads) could turn a request into a 500
/// or a batch line into an exception. One pass over the raw bytes before any field is read names the field instead.
/// </summary>
internal static class JsonStringCheck
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 64 };

    /// <summary>Throws a 400 naming the first string (value or property name) with an unpaired surrogate; <paramref name="json"/> must be valid JSON.</summary>
    public static void ThrowIfInvalid(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, Options);
        var path = new List<Frame>();
        while (reader.Read())
        {
            if (path.Count > 0 && path[^1].IsArray && reader.TokenType is not (JsonTokenType.EndArray or JsonTokenType.EndObject or JsonTokenType.PropertyName))
            {
                path[^1] = path[^1] with { Index = path[^1].Index + 1 };
            }

            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    path.Add(new Frame(false, -1, default));
                    break;
                case JsonTokenType.StartArray:
                    path.Add(new Frame(true, -1, default));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    path.RemoveAt(path.Count - 1);
                    break;
                case JsonTokenType.PropertyName:
                    path[^1] = path[^1] with { Name = new Range((int)reader.TokenStartIndex + 1, (int)reader.TokenStartIndex + 1 + reader.ValueSpan.Length) };
                    if (!IsValid(ref reader))
                    {
                        var owner = Describe(json, path, path.Count - 1);
                        throw Invalid(owner.Length == 0 ? "a property name" : $"a property name in '{owner}'", owner.Length == 0 ? null : owner);
                    }

                    break;
                case JsonTokenType.String when !IsValid(ref reader):
                    var field = Describe(json, path, path.Count);
                    throw Invalid($"'{field}'", field);
            }
        }
    }

    private static bool IsValid(ref Utf8JsonReader reader)
    {
        // Only an escape can produce a lone surrogate: the bytes themselves were checked as UTF-8 already.
        if (!reader.ValueIsEscaped || reader.ValueSpan.IndexOf("\\u"u8) < 0)
        {
            return true;
        }

        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The path of the first <paramref name="depth"/> frames as the parsers name fields: <c>messages[0].content</c>.</summary>
    private static string Describe(ReadOnlySpan<byte> json, List<Frame> path, int depth)
    {
        var text = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            var frame = path[i];
            if (frame.IsArray)
            {
                text.Append('[').Append(frame.Index).Append(']');
            }
            else
            {
                if (text.Length > 0)
                {
                    text.Append('.');
                }

                text.Append(ApiText.Truncate(Encoding.UTF8.GetString(json[frame.Name])));
            }
        }

        return text.ToString();
    }

    private static ApiException Invalid(string what, string? param) =>
        ApiException.BadRequest(
            $"{what} contains an unpaired UTF-16 surrogate escape (such as \\ud800 without a low surrogate after it); JSON strings must be valid Unicode",
            param, "invalid_unicode");

    /// <summary>One level of nesting: an array and the index of its current element, or an object and its current property name (a range of the input).</summary>
    private readonly record struct Frame(bool IsArray, int Index, Range Name);
}
