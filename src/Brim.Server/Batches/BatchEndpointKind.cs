using System.Text.Json;
using Brim.Core;
using Brim.Server.Api;

namespace Brim.Server.Batches;

/// <summary>The endpoints a batch may target, and the request parsing they share with the online endpoints.</summary>
internal static class BatchEndpointKind
{
    public const string Chat = "/v1/chat/completions";
    public const string Completions = "/v1/completions";

    public static ApiKind? Parse(string? endpoint) => endpoint switch
    {
        Chat => ApiKind.Chat,
        Completions => ApiKind.Completion,
        _ => null,
    };

    /// <summary>
    /// Parses a line's body with the online endpoint's own parser (so it is validated exactly as online requests
    /// are) and marks it offline. Throws <see cref="ApiException"/> for a body the online endpoint would refuse.
    /// </summary>
    public static GenerationSpec ParseBody(JsonElement body, ApiKind kind, ServerContext server)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("body", "a JSON object", body);
        }

        var spec = kind == ApiKind.Chat ? ChatRequestParser.Parse(body, server) : CompletionRequestParser.Parse(body, server);
        if (spec.Stream)
        {
            throw ApiException.BadRequest("'stream' is not supported in a batch: each line gets one whole response", "stream");
        }

        return spec with { TrafficClass = TrafficClass.Offline };
    }
}
