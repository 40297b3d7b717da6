using System.Text.Json;
using Brim.Core;
using Brim.Server.Api;
using Brim.Server.Routing;

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
    /// are) and marks it offline. Throws <see cref="ApiException"/> for a body the online endpoint would refuse. A line
    /// naming the router's alias is routed as an online request would be (<see cref="RoutedRequest"/>).
    /// </summary>
    public static (GenerationSpec Spec, ServerContext Model, RoutedRequest? Routed) ParseBody(JsonElement body, ApiKind kind, ServerContext server)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("body", "a JSON object", body);
        }

        var name = JsonFields.String(body, "model");
        RoutedRequest? routed = null;
        ServerContext model;
        GenerationSpec spec;
        if (server.IsRouterAlias(name))
        {
            routed = RoutedRequest.Parse(body, kind, server);
            (model, spec) = (routed.Model, routed.Spec);
        }
        else
        {
            model = server.Resolve(name);
            spec = Generation.GenerationEndpoint.Parse(body, kind, model);
        }

        if (spec.Stream)
        {
            throw ApiException.BadRequest("'stream' is not supported in a batch: each line gets one whole response", "stream");
        }

        static GenerationSpec Offline(GenerationSpec s) => s with { TrafficClass = TrafficClass.Offline };
        routed = routed is null ? null : routed with { Spec = Offline(routed.Spec), LargeSpec = routed.LargeSpec is { } l ? Offline(l) : null };
        return (Offline(spec), model, routed);
    }
}
