using Brim.Engine;
using Brim.Server.Chat;
using Brim.Server.Hosting;
using Brim.Server.Metrics;
using Brim.Tokenization;

namespace Brim.Server;

/// <summary>What every endpoint needs: the model host, the options and the metrics.</summary>
internal sealed class ServerContext(ModelHost host, ServerOptions options, ServerMetrics metrics)
{
    private bool _accepting = true;

    public ModelHost Host { get; } = host;

    public ServerOptions Options { get; } = options;

    public ServerMetrics Metrics { get; } = metrics;

    public LlmEngine Engine => Host.Engine;

    public ITokenizer Tokenizer => Host.Tokenizer;

    public string ModelName => Host.ServedModelName;

    public ChatPromptEncoder Prompts { get; } = new(host.ChatTemplate, host.Tokenizer);

    /// <summary>The generation requests being answered, which shutdown drains.</summary>
    public Generation.InFlightRequests InFlight { get; } = new();

    /// <summary>Unix seconds when the server was built, the <c>created</c> of the model object.</summary>
    public long StartedAt { get; } = UnixNow();

    /// <summary>False once shutdown began: /ready then answers 503 so load balancers stop sending work.</summary>
    public bool Accepting
    {
        get => Volatile.Read(ref _accepting);
        set => Volatile.Write(ref _accepting, value);
    }

    /// <summary>Unix seconds, the <c>created</c> of responses.</summary>
    public static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
