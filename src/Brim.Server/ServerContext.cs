using Brim.Engine;
using Brim.Server.Chat;
using Brim.Server.Hosting;
using Brim.Server.Metrics;
using Brim.Server.Routing;
using Brim.Tokenization;

namespace Brim.Server;

/// <summary>
/// What every endpoint needs, seen through one served model: its host, engine, tokenizer and metrics, beside what the
/// whole server shares (the options, the in-flight requests shutdown drains, whether it still accepts work, the other
/// models and the router). The context the server is built with is the default model's (the first one served);
/// <see cref="Resolve"/> gives the view of the model a request names. A view reached through the router's alias
/// (<see cref="RoutedAs"/>) also accepts the request fields only the router reads.
/// </summary>
internal sealed class ServerContext
{
    private readonly Shared _shared;

    private ServerContext(ModelHost host, ServerMetrics metrics, Shared shared, string? routedAs)
    {
        Host = host;
        Metrics = metrics;
        _shared = shared;
        RoutedAs = routedAs;
        Prompts = new ChatPromptEncoder(host.ChatTemplate, host.Tokenizer);
    }

    /// <summary>
    /// One view per served model, in the order given (the first is the default). Names must be distinct and differ from
    /// the router's alias, and the router may name only served models: each is checked here, at startup.
    /// </summary>
    public static ServerContext Create(IReadOnlyList<(ModelHost Host, ServerMetrics Metrics)> models, ServerOptions options, ModelRouter? router)
    {
        ArgumentOutOfRangeException.ThrowIfZero(models.Count);
        var duplicate = models.GroupBy(m => m.Host.ServedModelName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"two models are served as '{duplicate.Key}'; give each its own name (--model NAME=PATH)");
        }

        if (router is not null && models.Any(m => m.Host.ServedModelName == router.Alias))
        {
            throw new RouterConfigException($"the router's alias '{router.Alias}' is also a served model's name");
        }

        var shared = new Shared(options, router);
        foreach (var (host, metrics) in models)
        {
            shared.Views.Add(new ServerContext(host, metrics, shared, routedAs: null));
        }

        router?.Bind(shared.Views.Select(v => v.ModelName).ToArray());
        return shared.Views[0];
    }

    public ModelHost Host { get; }

    public ServerOptions Options => _shared.Options;

    /// <summary>This model's request-level metrics (Prometheus families carry its name as model_name).</summary>
    public ServerMetrics Metrics { get; }

    public LlmEngine Engine => Host.Engine;

    public ITokenizer Tokenizer => Host.Tokenizer;

    public string ModelName => Host.ServedModelName;

    public ChatPromptEncoder Prompts { get; }

    /// <summary>The router's alias when the request reached this model through it (the request's <c>model</c>), else null.</summary>
    public string? RoutedAs { get; }

    /// <summary>Every served model's view, the default first.</summary>
    public IReadOnlyList<ServerContext> Models => _shared.Views;

    /// <summary>The router behind <c>model: "auto"</c> (or its configured alias); null when none is configured.</summary>
    public ModelRouter? Router => _shared.Router;

    /// <summary>The generation requests being answered, which shutdown drains (all models together).</summary>
    public Generation.InFlightRequests InFlight => _shared.InFlight;

    /// <summary>Unix seconds when the server was built, the <c>created</c> of the model object.</summary>
    public long StartedAt => _shared.StartedAt;

    /// <summary>False once shutdown began: /ready then answers 503 so load balancers stop sending work.</summary>
    public bool Accepting
    {
        get => Volatile.Read(ref _shared.Accepting);
        set => Volatile.Write(ref _shared.Accepting, value);
    }

    /// <summary>The view of the model named <paramref name="name"/>, or null when none is served under it.</summary>
    public ServerContext? Find(string name) => _shared.Views.FirstOrDefault(v => v.ModelName == name);

    /// <summary>
    /// The view a request's <c>model</c> names: the default model for none, a served model by its name. The router's
    /// alias is not a model: callers check <see cref="IsRouterAlias"/> first. Anything else is 404 model_not_found.
    /// </summary>
    public ServerContext Resolve(string? model) => model is null ? _shared.Views[0] : Find(model) ?? throw ModelNotFound(model);

    public bool IsRouterAlias(string? model) => model is not null && Router?.Alias == model;

    /// <summary>This model's view for a request that named the router's alias.</summary>
    public ServerContext RoutedVia(string alias) => new(Host, Metrics, _shared, alias);

    /// <summary>The 404 for a name no model is served under, listing the names there are.</summary>
    public Api.ApiException ModelNotFound(string? model)
    {
        var names = string.Join(", ", _shared.Views.Select(v => $"'{v.ModelName}'").Concat(Router is { } r ? [$"'{r.Alias}' (the router)"] : []));
        return new Api.ApiException(404, $"the model '{Api.ApiText.Truncate(model)}' does not exist; this server serves {names}", "model", "model_not_found");
    }

    /// <summary>Unix seconds, the <c>created</c> of responses.</summary>
    public static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>What every view of one server shares.</summary>
    private sealed class Shared(ServerOptions options, ModelRouter? router)
    {
        public bool Accepting = true;

        public ServerOptions Options { get; } = options;

        public ModelRouter? Router { get; } = router;

        public List<ServerContext> Views { get; } = [];

        public Generation.InFlightRequests InFlight { get; } = new();

        public long StartedAt { get; } = UnixNow();
    }
}
