using System.Text;
using Brim.Server.Metrics;

namespace Brim.Server.Batches;

/// <summary>
/// The offline (Batch API) metrics on /metrics: lines finished since start by outcome, the backlog of lines waiting
/// in running batches, and batches by status (both read from the database at scrape time, so they are right after a restart).
/// </summary>
internal sealed class BatchMetrics(BatchStore batches)
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

    public void Append(StringBuilder text, string labels)
    {
        var (byStatus, pending) = batches.Gauges();
        PrometheusExposition.Gauge(text, "brim:offline_backlog_lines", "Batch lines waiting to run or running (offline traffic).", labels, pending);
        PrometheusExposition.Header(text, "brim:batch_lines_total", "Batch lines finished since start, by outcome.", "counter");
        PrometheusExposition.Sample(text, "brim:batch_lines_total", $"{labels},outcome=\"completed\"", LinesCompleted);
        PrometheusExposition.Sample(text, "brim:batch_lines_total", $"{labels},outcome=\"failed\"", LinesFailedTotal);
        PrometheusExposition.Header(text, "brim:batches", "Batches by status.", "gauge");
        foreach (var status in BatchStatus.All)
        {
            PrometheusExposition.Sample(text, "brim:batches", $"{labels},status=\"{status}\"", byStatus.GetValueOrDefault(status));
        }
    }
}
