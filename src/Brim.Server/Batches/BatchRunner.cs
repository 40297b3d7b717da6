using System.Threading.Channels;
using Brim.Server.Api;
using Brim.Server.Files;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Batches;

/// <summary>
/// The background loop that moves batches along: validates new ones, keeps a bounded number of their lines in the
/// engine as offline traffic, records each line's result as it finishes, and finalizes (or cancels) batches.
/// Everything it knows survives in the database, so after a crash it picks up where the rows say: pending lines run
/// again, finished lines are never run twice.
/// </summary>
/// <remarks>
/// Only the loop touches <see cref="_active"/>; line tasks report back through <see cref="_finished"/>. The number of
/// lines in the engine stays at most <see cref="Capacity"/> (twice the batch slots, enough that offline work is always
/// ready to backfill a slot, and never an unbounded queue in front of online requests).
/// </remarks>
internal sealed class BatchRunner(ServerContext server, BatchStore batches, FileStore files, BatchMetrics metrics, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly Dictionary<string, BatchProgress> _active = new(StringComparer.Ordinal);
    private readonly Channel<(BatchProgress Batch, int Line, bool Retry)> _finished = Channel.CreateUnbounded<(BatchProgress, int, bool)>();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly HashSet<Task> _running = [];
    private int _inFlight;
    private DateTime _retryAfter = DateTime.MinValue;

    // Lines may name any served model: twice the batch slots of all of them keeps each one's queue fed.
    public int Capacity { get; } = 2 * server.Models.Sum(m => m.Engine.Options.MaxRunningSequences);

    /// <summary>Asks the loop to look at the database now (a batch was created or cancelled).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Pass(stoppingToken);
            }
#pragma warning disable CA1031 // a failed pass (a full disk, a broken input file) must not stop every later batch
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                logger.LogError(e, "batch runner pass failed; retrying");
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            wait.CancelAfter(IdlePoll);
            try
            {
                await _wake.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                // idle poll or shutdown
            }
        }

        // Shutdown: cancel the lines in the engine. They stay pending and run again after the restart.
        foreach (var progress in _active.Values)
        {
            await progress.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_running.ToArray()).ConfigureAwait(false);
        foreach (var progress in _active.Values)
        {
            progress.Dispose();
        }
    }

    private void Pass(CancellationToken stoppingToken)
    {
        CollectFinishedLines();
        foreach (var id in batches.IdsWithStatus(BatchStatus.Validating))
        {
            Isolated(id, "validating", () => ValidateOrFail(id));
        }

        foreach (var id in batches.IdsWithStatus(BatchStatus.Cancelling))
        {
            Isolated(id, "cancelling", () =>
            {
                if (StopLines(id))
                {
                    batches.Finalize(id, BatchStatus.Cancelled, files);
                }
            });
        }

        foreach (var id in batches.IdsWithStatus(BatchStatus.Finalizing))
        {
            Isolated(id, "finalizing", () => batches.Finalize(id, BatchStatus.Completed, files)); // a finalization a crash interrupted
        }

        // Expiry before feeding: a batch past its deadline (also one found so after a restart) starts no more lines.
        var overdue = batches.InProgressPastDeadline();
        foreach (var id in overdue)
        {
            Isolated(id, "expiring", () => Expire(id));
        }

        foreach (var id in batches.IdsWithStatus(BatchStatus.InProgress).Except(overdue, StringComparer.Ordinal))
        {
            Isolated(id, "running", () => Feed(id, stoppingToken));
        }
    }

    /// <summary>
    /// Runs one batch's step of a pass so that its failure is its own: logged, retried on the next pass, and never in
    /// the way of the other batches' steps (one broken batch used to fail the whole pass, every second, forever).
    /// </summary>
    private void Isolated(string id, string step, Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // a failure of one batch is logged and retried; the others go on
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            logger.LogError(e, "batch {Batch}: {Step} failed; retrying on the next pass", id, step);
        }
    }

    /// <summary>
    /// Validates a batch; a failure that is not one line's (an unreadable input file) fails the batch with a reason,
    /// as OpenAI fails a batch whose input cannot be read, rather than leaving it validating forever.
    /// </summary>
    private void ValidateOrFail(string id)
    {
        try
        {
            Validate(id);
        }
#pragma warning disable CA1031 // reported as the batch's error, and in the log
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            logger.LogError(e, "batch {Batch}: validating its input failed", id);
            batches.Fail(id, "validation_failed", "the input file could not be validated; see the server log");
        }
    }

    /// <summary>
    /// Ends a batch whose completion window has passed: cancels its lines in the engine (they come back without a
    /// result), then fails every unfinished line as batch_expired and finalizes the batch as expired, keeping the
    /// results of lines that finished in time.
    /// </summary>
    private void Expire(string id)
    {
        if (!StopLines(id))
        {
            return;
        }

        var expired = batches.ExpireUnfinishedLines(id);
        metrics.LinesFailed(expired);
        batches.Finalize(id, BatchStatus.Expired, files);
        logger.LogWarning("batch {Batch} expired with {Lines} lines unfinished", id, expired);
    }

    /// <summary>
    /// Cancels the batch's lines in the engine; true once none is in flight any more (then the batch may be finalized),
    /// false while cancelled lines have yet to come back (a later pass asks again).
    /// </summary>
    private bool StopLines(string id)
    {
        if (!_active.Remove(id, out var progress))
        {
            return true;
        }

        progress.Cancel();
        if (progress.InFlight.Count > 0)
        {
            _active[id] = progress;
            return false;
        }

        progress.Dispose();
        return true;
    }

    private void CollectFinishedLines()
    {
        while (_finished.Reader.TryRead(out var done))
        {
            _inFlight--;
            done.Batch.InFlight.Remove(done.Line);
            if (done.Retry)
            {
                // Run it again from its place in the input, a little later (the engine was full or is stopping).
                done.Batch.Cursor = Math.Min(done.Batch.Cursor, done.Line - 1);
                _retryAfter = DateTime.UtcNow + RetryDelay;
            }
        }
    }

    private void Validate(string id)
    {
        var batch = batches.Get(id);
        if (batch is null || files.Get(batch.InputFileId) is null)
        {
            batches.Fail(id, "file_not_found", $"the input file '{batch?.InputFileId}' no longer exists");
            return;
        }

        var validator = new BatchLineValidator(server, batch.Endpoint, logger);
        var lines = new List<ValidatedLine>();
        var maxLineBytes = (int)Math.Min(server.Options.MaxRequestBodyBytes, Array.MaxLength);
        using (var reader = new BatchLineReader(File.OpenRead(files.PathOf(batch.InputFileId)), maxLineBytes))
        {
            while (reader.TryRead(out var line))
            {
                if (line.IsBlank)
                {
                    continue; // blank lines (a trailing newline) are not requests
                }

                if (lines.Count == BatchLineValidator.MaxLines)
                {
                    batches.Fail(id, "too_many_requests", $"the input file has more than {BatchLineValidator.MaxLines} requests");
                    return;
                }

                lines.Add(validator.Validate(line));
            }
        }

        if (lines.Count == 0)
        {
            batches.Fail(id, "empty_file", "the input file has no requests");
            return;
        }

        batches.SaveValidatedLines(id, lines);
        metrics.LinesFailed(lines.Count(l => l.ErrorResult is not null));
    }

    /// <summary>Starts the batch's next pending lines while there is room; finalizes it when none are left.</summary>
    private void Feed(string id, CancellationToken stoppingToken)
    {
        if (!_active.TryGetValue(id, out var progress))
        {
            var batch = batches.Get(id)!;
            progress = new BatchProgress(id, BatchEndpointKind.Parse(batch.Endpoint)!.Value, stoppingToken);
            _active[id] = progress;
        }

        if (DateTime.UtcNow < _retryAfter)
        {
            return;
        }

        var room = Capacity - _inFlight;
        if (room > 0)
        {
            foreach (var line in batches.PendingLines(id, progress.Cursor, room + progress.InFlight.Count))
            {
                if (room == 0)
                {
                    break; // the cursor stays before this line: it is read again once there is room
                }

                progress.Cursor = line.Line;
                if (progress.InFlight.Add(line.Line))
                {
                    room--;
                    _inFlight++;
                    Track(RunLineAsync(progress, line));
                }
            }
        }

        if (progress.InFlight.Count > 0)
        {
            return;
        }

        if (batches.PendingLines(id, 0, 1).Count > 0)
        {
            progress.Cursor = Math.Min(progress.Cursor, batches.PendingLines(id, 0, 1)[0].Line - 1); // invariant: no pending line is left behind the cursor
        }
        else if (batches.Transition(id, [BatchStatus.InProgress], BatchStatus.Finalizing, "finalizing_at"))
        {
            _active.Remove(id);
            progress.Dispose();
            batches.Finalize(id, BatchStatus.Completed, files);
        }
    }

    private async Task RunLineAsync(BatchProgress progress, PendingLine line)
    {
        var retry = true;
        try
        {
            var outcome = await BatchLineResult.RunAsync(server, progress.Kind, line, progress.Token).ConfigureAwait(false);
            if (outcome.Result is not null)
            {
                retry = false;
                if (batches.CompleteLine(progress.Id, line.Line, outcome.State, outcome.Result))
                {
                    metrics.LineFinished(outcome.State);
                }
            }
        }
#pragma warning disable CA1031 // an unexpected failure of one line is that line's error, not the runner's end
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            logger.LogError(e, "batch {Batch} line {Line} failed", progress.Id, line.Line);
            var error = BatchLineValidator.Invalid(line.Line, line.CustomId, "internal server error; see the server log", "server_error");
            retry = false;
            if (batches.CompleteLine(progress.Id, line.Line, LineState.Failed, error.ErrorResult!))
            {
                metrics.LineFinished(LineState.Failed);
            }
        }
        finally
        {
            _finished.Writer.TryWrite((progress, line.Line, retry && !progress.Token.IsCancellationRequested));
            Wake();
        }
    }

    private void Track(Task task)
    {
        _running.RemoveWhere(t => t.IsCompleted);
        _running.Add(task);
    }
}
