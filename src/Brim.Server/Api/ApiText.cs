namespace Brim.Server.Api;

/// <summary>Client input quoted back in error messages, bounded: an error must never grow with what a client sent.</summary>
internal static class ApiText
{
    /// <summary>How much of a client's value an error message repeats.</summary>
    public const int MaxEcho = 64;

    /// <summary>The value, or its first <see cref="MaxEcho"/> characters and how many more there were.</summary>
    public static string Truncate(string? value)
    {
        if (value is null || value.Length <= MaxEcho)
        {
            return value ?? string.Empty;
        }

        // Do not cut a surrogate pair in half: the message is written as JSON and must stay valid UTF-16.
        var cut = char.IsHighSurrogate(value[MaxEcho - 1]) ? MaxEcho - 1 : MaxEcho;
        return $"{value[..cut]}… ({value.Length - cut} more characters)";
    }
}
