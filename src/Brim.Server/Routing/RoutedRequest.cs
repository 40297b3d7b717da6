using System.Text.Json;
using Brim.Server.Api;
using Brim.Server.Generation;

namespace Brim.Server.Routing;

/// <summary>
/// A request that named the router's alias, parsed for the models it may run on: the decision, and the spec of each
/// model it names (one for a rule or the default; the small and the large model's for the cascade). The body is
/// parsed against each model's own tokenizer, template and context, so a model answers exactly as when named directly.
/// </summary>
internal sealed record RoutedRequest(RouteDecision Decision, ServerContext Model, GenerationSpec Spec, ServerContext? Large = null, GenerationSpec? LargeSpec = null)
{
    public static RoutedRequest Parse(JsonElement root, ApiKind kind, ServerContext server)
    {
        var router = server.Router ?? throw new InvalidOperationException("no router is configured");
        var promptTokens = RouteFeatures.CountPromptTokens(root, kind, server.Models[0]);
        var decision = router.Decide(RouteFeatures.Read(root, promptTokens));
        ServerContext View(string name) => server.Find(name)!.RoutedVia(router.Alias); // Bind checked every name at startup

        if (decision.Model is { } name)
        {
            var model = View(name);
            return new RoutedRequest(decision, model, GenerationEndpoint.Parse(root, kind, model));
        }

        var cascade = router.Config.Cascade!;
        var small = View(cascade.Small);
        var large = View(cascade.Large);
        return new RoutedRequest(decision, small, GenerationEndpoint.Parse(root, kind, small), large, GenerationEndpoint.Parse(root, kind, large));
    }
}
