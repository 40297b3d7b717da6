namespace Brim.Server.Api;

/// <summary>
/// A request the server refuses, with everything the OpenAI error envelope
/// <c>{"error":{"message","type","param","code"}}</c> carries. Thrown while parsing or admitting a request and turned
/// into a response by <see cref="ErrorResponses"/>; never escapes the server.
/// </summary>
public sealed class ApiException(int statusCode, string message, string? param = null, string? code = null, string? type = null)
    : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>The envelope's <c>type</c>, derived from the status the way the OpenAI API names them.</summary>
    public string Type { get; } = type ?? TypeFor(statusCode);

    /// <summary>Seconds the client should wait before retrying (429/503), sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    public static string TypeFor(int statusCode) => statusCode switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
