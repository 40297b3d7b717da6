using Brim.Server.Api;

namespace Brim.Server.Batches;

/// <summary>The runner's in-memory view of one running batch: which lines are in the engine and how far it has read.</summary>
internal sealed class BatchProgress(string id, ApiKind kind, CancellationToken stoppingToken) : IDisposable
{
    private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);

    public string Id { get; } = id;

    public ApiKind Kind { get; } = kind;

    /// <summary>Line numbers submitted and not yet reported back.</summary>
    public HashSet<int> InFlight { get; } = [];

    /// <summary>The last line number handed out; the next read starts after it (rewound when a line must run again).</summary>
    public int Cursor { get; set; }

    /// <summary>Cancelled when the batch is cancelled or the server stops; its lines then end without a result.</summary>
    public CancellationToken Token => _cancel.Token;

    public void Cancel() => _cancel.Cancel();

    public Task CancelAsync() => _cancel.CancelAsync();

    public void Dispose() => _cancel.Dispose();
}
