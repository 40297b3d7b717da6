namespace Brim.Server.Generation;

/// <summary>
/// The generation requests being answered, so shutdown can wait for them: <see cref="DrainAsync"/> waits until none
/// is left or the drain timeout passes, then fires <see cref="Expired"/>, on which each open request ends itself
/// cleanly (a stream with an in-band error event and [DONE], a plain request with a 503) instead of being reset when
/// Kestrel closes its connection.
/// </summary>
internal sealed class InFlightRequests : IDisposable
{
    private readonly CancellationTokenSource _expired = new();
    private readonly object _gate = new();
    private int _count;
    private TaskCompletionSource? _idle;

    /// <summary>Fires once the drain timeout has passed with requests still open.</summary>
    public CancellationToken Expired => _expired.Token;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Counts a request in until the returned handle is disposed.</summary>
    public Entry Enter()
    {
        Interlocked.Increment(ref _count);
        return new Entry(this);
    }

    /// <summary>
    /// Waits for every open request to finish for up to <paramref name="timeout"/>; then ends the rest (see
    /// <see cref="Expired"/>) and waits up to <paramref name="grace"/> more for them to write their last bytes.
    /// Callers stop admitting new requests first.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (await WaitIdleAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await _expired.CancelAsync().ConfigureAwait(false);
        await WaitIdleAsync(grace, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _expired.Dispose();

    private async Task<bool> WaitIdleAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task idle;
        lock (_gate)
        {
            if (Count == 0)
            {
                return true;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Leave()
    {
        if (Interlocked.Decrement(ref _count) == 0)
        {
            lock (_gate)
            {
                if (Count == 0)
                {
                    _idle?.TrySetResult();
                    _idle = null;
                }
            }
        }
    }

    /// <summary>One request's place in the count.</summary>
    public readonly struct Entry(InFlightRequests owner) : IDisposable
    {
        public void Dispose() => owner.Leave();
    }
}
