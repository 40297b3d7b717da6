using Brim.Telemetry.Exposition;

namespace Brim.Server.Batches;

/// <summary>
/// The offline (Batch API) metrics on /metrics: lines finished since start by outcome, the backlog of lines waiting
/// in running batches, and batches by status (both read from the database at scrape time, so they are right after a restart).
/// </summary>
internal sealed class BatchMetrics(BatchStore batches) : IPrometheusSource
{
    private long _linesCompleted;
    private long _linesFailed;

    public long LinesCompleted => Interlocked.Read(ref _linesCompleted);

    public long LinesFailedTotal => Interlocked.Read(ref _linesFailed);

    public void LineFinished(LineState state)
    {
        if (state == LineState.Done)
        {
            Interlocked.Increment(ref _linesCompleted);
        }
        else
        {
            Interlocked.Increment(ref _linesFailed);
        }
    }

    /// <summary>Counts lines refused at validation (they go to the error file without running).</summary>
    public void LinesFailed(int count) => Interlocked.Add(ref _linesFailed, count);

    public void WriteTo(PrometheusText text)
    {
        var (byStatus, pending) = batches.Gauges();
        text.Gauge("brim:offline_backlog_lines", "Batch lines waiting to run or running (offline traffic).", pending);
        text.Family("brim:batch_lines_total", "counter", "Batch lines finished since start, by outcome.");
        text.Sample("brim:batch_lines_total", LinesCompleted, ("outcome", "completed"));
        text.Sample("brim:batch_lines_total", LinesFailedTotal, ("outcome", "failed"));
        text.Family("brim:batches", "gauge", "Batches by status.");
        foreach (var status in BatchStatus.All)
        {
            text.Sample("brim:batches", byStatus.GetValueOrDefault(status), ("status", status));
        }
    }
}
