using System.Text.Json;

namespace Brim.Models;

/// <summary>
/// Typed access to the fields of a JSON object, where a missing field and a JSON null both mean "not given" and a field
/// of the wrong type is a <see cref="ModelLoadException"/> naming the file and the field.
/// </summary>
internal sealed class JsonFields(JsonElement element, string origin)
{
    public string Origin { get; } = origin;

    public int RequiredInt(string name) => OptionalInt(name) ?? throw Missing(name);

    public double RequiredDouble(string name) => OptionalDouble(name) ?? throw Missing(name);

    public int? OptionalInt(string name) => Read(name, JsonValueKind.Number, e => e.TryGetInt32(out var v) ? (int?)v : throw WrongType(name, "an int32"));

    public double? OptionalDouble(string name) => Read(name, JsonValueKind.Number, e => (double?)e.GetDouble());

    public bool? OptionalBool(string name)
    {
        var value = Get(name);
        return value?.ValueKind switch
        {
            null => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(name, "a boolean"),
        };
    }

    public string? OptionalString(string name) => Read(name, JsonValueKind.String, e => e.GetString());

    public JsonFields? OptionalObject(string name)
    {
        return Read(name, JsonValueKind.Object, e => new JsonFields(e, $"{Origin} ({name})"));
    }

    /// <summary>The members of an object whose values are objects (compressed-tensors' config_groups), in file order.</summary>
    public IReadOnlyList<(string Name, JsonFields Value)>? OptionalObjectMembers(string name)
    {
        var value = Get(name);
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object || v.EnumerateObject().Any(m => m.Value.ValueKind != JsonValueKind.Object))
        {
            throw WrongType(name, "an object of objects");
        }

        return v.EnumerateObject().Select(m => (m.Name, new JsonFields(m.Value, $"{Origin} ({name}.{m.Name})"))).ToArray();
    }

    /// <summary>Whether the field is given (not missing, not null).</summary>
    public bool Has(string name) => Get(name) is not null;

    /// <summary>An int or a list of ints (eos_token_id is either).</summary>
    public IReadOnlyList<int>? OptionalIntList(string name)
    {
        var value = Get(name);
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number)
        {
            return [OptionalInt(name)!.Value];
        }

        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out _)))
        {
            throw WrongType(name, "an int or a list of ints");
        }

        return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    public IReadOnlyList<string>? OptionalStringList(string name)
    {
        var value = Get(name);
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw WrongType(name, "a list of strings");
        }

        return v.EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    /// <summary>T is itself nullable (int?, string?), so "not given" reads as null, never as 0.</summary>
    private T? Read<T>(string name, JsonValueKind kind, Func<JsonElement, T?> convert)
    {
        var value = Get(name);
        if (value is not { } v)
        {
            return default;
        }

        return v.ValueKind == kind ? convert(v) : throw WrongType(name, kind.ToString().ToLowerInvariant());
    }

    private JsonElement? Get(string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    private ModelLoadException Missing(string name) => new($"{Origin} lacks required field \"{name}\"");

    private ModelLoadException WrongType(string name, string expected) => new($"{Origin}: field \"{name}\" must be {expected}");
}
