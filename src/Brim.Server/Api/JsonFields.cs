using System.Text.Json;

namespace Brim.Server.Api;

/// <summary>
/// Typed access to the fields of a request object. A field that is absent or JSON null reads as null; a field of the
/// wrong type is a 400 naming the field. Which fields a request may carry at all is <see cref="RequestFieldPolicy"/>'s.
/// </summary>
internal static class JsonFields
{
    public static JsonElement? Get(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string? String(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(name, "a string", value);
    }

    public static bool? Bool(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(name, "a boolean", value),
        };
    }

    public static int? Int(JsonElement obj, string name, int min, int max)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(name, "an integer", value);
        }

        if (!value.TryGetInt64(out var n))
        {
            // 1e30, 2.5, 99999999999999999999: a number, but not an integer we can hold.
            throw ApiException.BadRequest($"'{name}' must be an integer between {min} and {max}, got {ApiText.Truncate(value.GetRawText())}", name);
        }

        if (n < min || n > max)
        {
            throw ApiException.BadRequest($"'{name}' must be between {min} and {max}, got {n}", name);
        }

        return (int)n;
    }

    public static long? Long(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(name, "an integer", value);
        }

        return value.TryGetInt64(out var n) ? n
            : throw ApiException.BadRequest($"'{name}' must be a 64-bit integer, got {ApiText.Truncate(value.GetRawText())}", name);
    }

    public static float? Float(JsonElement obj, string name, float min, float max)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(name, "a number", value);
        }

        if (!value.TryGetDouble(out var x) || !double.IsFinite(x) || x < min || x > max)
        {
            throw ApiException.BadRequest($"'{name}' must be between {min} and {max}, got {ApiText.Truncate(value.GetRawText())}", name);
        }

        return (float)x;
    }

    /// <summary>Any finite number; its range is for the field's owner to check.</summary>
    public static float? Number(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(name, "a number", value);
        }

        return value.TryGetDouble(out var x) && double.IsFinite(x)
            ? (float)x
            : throw ApiException.BadRequest($"'{name}' must be a finite number, got {value.GetRawText()}", name);
    }

    /// <summary>A string or a list of strings (as <c>stop</c> takes).</summary>
    public static IReadOnlyList<string>? StringOrList(JsonElement obj, string name, int maxCount)
    {
        if (Get(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return [value.GetString()!];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(name, "a string or a list of strings", value);
        }

        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw WrongType($"{name}[{list.Count}]", "a string", item);
            }

            list.Add(item.GetString()!);
        }

        if (list.Count > maxCount)
        {
            throw ApiException.BadRequest($"'{name}' takes at most {maxCount} entries, got {list.Count}", name);
        }

        return list;
    }

    public static ApiException WrongType(string name, string expected, JsonElement actual) =>
        ApiException.BadRequest($"'{name}' must be {expected}, got {Describe(actual.ValueKind)}", name);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
