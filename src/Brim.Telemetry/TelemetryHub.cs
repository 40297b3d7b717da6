using Brim.Core;
using Brim.Engine;
using Brim.Telemetry.Cost;
using Brim.Telemetry.Devices;
using Brim.Telemetry.Exposition;
using Brim.Telemetry.Nvml;
using Brim.Telemetry.Recording;

namespace Brim.Telemetry;

/// <summary>
/// Collects the engine's step records, the server's request completions and the GPU counters into one-second buckets
/// (an hour of them), and answers snapshots for /v1/stats, /metrics and the dashboard. Recording is a lock and a few
/// additions — cheap enough for the engine's step thread.
/// </summary>
public sealed class TelemetryHub : IPrometheusSource, IDisposable
{
    public const int HistorySeconds = 3600;
    public const int SeriesSeconds = 300;
    private const int RecentRequestsPerClass = 4096;
    private const int CostSeriesWindowSeconds = 60;

    private static readonly (string Name, int Seconds)[] WindowSpans = [("10s", 10), ("1m", 60), ("5m", 300), ("1h", 3600)];
    private static readonly double[] ProjectionTargets = [0.25, 0.5, 0.75, 1.0];

    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly DateTimeOffset _startUtc;
    private readonly NvmlSampler? _nvml;
    private readonly Lock _lock = new();
    private readonly SecondBucket[] _buckets = new SecondBucket[HistorySeconds];
    private readonly RingBuffer<CompletedRequest>[] _recent = [new(RecentRequestsPerClass), new(RecentRequestsPerClass)];
    private SecondBucket _totals = SecondBucket.Empty(0);
    private StepMetrics? _lastStep;
    private long _lastStepEnd;
    private bool _lastStepLeftWork;
    private LlmEngine? _engine;
    private bool _ownsNvml;

    public TelemetryHub(TelemetryOptions options, NvmlSampler? nvml = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _time = time ?? TimeProvider.System;
        _startTimestamp = _time.GetTimestamp();
        _startUtc = _time.GetUtcNow();
        CostModel = new ModelCostModel(options.Model, options.KvDType, options.KvBytesPerPosition, options.ProjectionBytes);
        _nvml = nvml;
        Device = DeviceProfile.Resolve(options, nvml is { IsAvailable: true } ? nvml.DeviceNames[0] : null);
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = SecondBucket.Empty(-1);
        }

        if (_nvml is not null)
        {
            _nvml.Sampled += RecordGpuSample;
        }
    }

    /// <summary>A hub that opens NVML itself (when <see cref="TelemetryOptions.UseNvml"/>), samples in the background and disposes it.</summary>
    public static TelemetryHub Create(TelemetryOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var nvml = options.UseNvml ? NvmlSampler.Open(time: time) : null;
        var hub = new TelemetryHub(options, nvml, time) { _ownsNvml = true };
        nvml?.Start(options.NvmlInterval);
        return hub;
    }

    public ModelCostModel CostModel { get; }

    public DeviceProfile Device { get; }

    /// <summary>Subscribes to the engine's steps (one engine per hub).</summary>
    public void Attach(LlmEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (Interlocked.CompareExchange(ref _engine, engine, null) is not null)
        {
            throw new InvalidOperationException("the telemetry hub is already attached to an engine");
        }

        engine.StepCompleted += RecordStep;
    }

    /// <summary>Records one engine step (called on the step thread through <see cref="LlmEngine.StepCompleted"/>).</summary>
    public void RecordStep(StepRecord record)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            // The step started StepSeconds before now; the host gap is the time since the previous step ended, counted
            // only when that step left work behind (otherwise the engine was idle, not slow).
            double? gap = null;
            if (_lastStepLeftWork)
            {
                gap = Math.Max(0, Seconds(_lastStepEnd, now) - record.StepSeconds);
            }

            var metrics = StepMetrics.From(record, CostModel, Device.AllDevices, gap);
            _lastStep = metrics;
            _lastStepEnd = now;
            _lastStepLeftWork = record.Running + record.Waiting > 0;

            ref var bucket = ref BucketAt(SecondOf(now));
            Add(ref bucket, metrics);
            Add(ref _totals, metrics);
        }
    }

    /// <summary>
    /// Records a finished request (the server calls this on completion): time to first token, time per output token
    /// after the first, end-to-end latency and output tokens.
    /// </summary>
    public void RecordRequest(TrafficClass trafficClass, TimeSpan ttft, TimeSpan tpot, TimeSpan e2e, int outputTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outputTokens);
        if (ttft < TimeSpan.Zero || tpot < TimeSpan.Zero || e2e < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttft), "latencies cannot be negative");
        }

        var second = SecondOf(_time.GetTimestamp());
        var request = new CompletedRequest(second, ttft.TotalSeconds, tpot.TotalSeconds, e2e.TotalSeconds, outputTokens);
        lock (_lock)
        {
            ref var totals = ref BucketAt(second).For(trafficClass);
            totals.Requests++;
            totals.OutputTokens += outputTokens;
            totals.TtftSeconds += request.Ttft;
            totals.TpotSeconds += request.Tpot;
            totals.E2eSeconds += request.E2e;
            _recent[(int)trafficClass].Add(request);
        }
    }

    private void RecordGpuSample(GpuSample sample)
    {
        var second = SecondOf(_time.GetTimestamp());
        lock (_lock)
        {
            ref var bucket = ref BucketAt(second);
            bucket.GpuUtilizationSum += sample.GpuUtilizationPercent / 100.0;
            bucket.GpuSamples++;
        }
    }

    /// <summary>Writes the telemetry families of a snapshot taken now (/metrics).</summary>
    public void WriteTo(PrometheusText text) => TelemetryFamilies.Write(text, Snapshot());

    /// <summary>Everything known now; safe from any thread.</summary>
    public TelemetrySnapshot Snapshot()
    {
        var now = _time.GetTimestamp();
        var uptime = Seconds(_startTimestamp, now);
        var nowSecond = SecondOf(now);
        var fraction = uptime - nowSecond;
        lock (_lock)
        {
            var windows = new WindowStats[WindowSpans.Length];
            SecondBucket economicsWindow = default;
            var economicsWall = 0.0;
            for (var i = 0; i < WindowSpans.Length; i++)
            {
                var (name, span) = WindowSpans[i];
                var sum = Sum(nowSecond - span + 1, nowSecond);
                var wall = Math.Min(span - 1 + fraction, uptime);
                windows[i] = WindowStats.From(name, wall, sum, Device);
                if (name == "1m")
                {
                    (economicsWindow, economicsWall) = (sum, wall);
                }
            }

            var economics = new Economics("1m", OccupancyProjection.Assumption, economicsWindow.MaxRunning,
                OccupancyProjection.Table(economicsWindow, economicsWall, Device, ProjectionTargets));
            var latency = new[] { TrafficClass.Online, TrafficClass.Offline }
                .Select(c => LatencyStats.From(c, [.. _recent[(int)c].ToArray().Where(r => r.Second > nowSecond - 300)]))
                .ToArray();
            var totals = new TelemetryTotals(_totals.Steps, _totals.PrefillTokens, _totals.OutputTokens, _totals.Flops, _totals.Bytes,
                _totals.BusySeconds, _totals.HostInStepSeconds, _totals.HostGapSeconds, _totals.Preempted)
            {
                SwapPreemptions = _lastStep?.Record.SwapPreemptions ?? 0,
                SwappedOutBlocks = _totals.SwappedOutBlocks,
                SwappedInBlocks = _totals.SwappedInBlocks,
                Drafts = _totals.Drafts,
                DraftTokens = _totals.DraftTokens,
                AcceptedDraftTokens = _totals.AcceptedDraftTokens,
                SpeculationOffSteps = _totals.SpeculationOffSteps,
            };
            return new TelemetrySnapshot(
                _startUtc.AddSeconds(uptime), uptime, Summary(), Device, GpuCounters(), _lastStep, totals, windows, economics, latency,
                BuildSeries(nowSecond));
        }
    }

    private TelemetrySeries BuildSeries(long nowSecond)
    {
        // Completed seconds only: the current one is still filling.
        var last = nowSecond - 1;
        var first = Math.Max(0, last - SeriesSeconds + 1);
        var n = (int)Math.Max(0, last - first + 1);
        var s = new TelemetrySeries(new long[n], new double?[n], new double?[n], new double?[n], new double?[n], new double?[n],
            new double?[n], new double?[n], new double?[n], new double?[n], new double?[n], new double?[n], new double?[n], new double?[n], new double?[n],
            new double?[n], new double?[n]);
        var ceilings = Device.AllDevices;
        double running = 0, waiting = 0, runningOffline = 0, waitingOffline = 0;

        // The cost series divides a trailing minute's price by its tokens; slide that minute's token sum along.
        long trailingTokens = first > 0 ? Sum(first - CostSeriesWindowSeconds + 1, first - 1).OutputTokens : 0;
        for (var i = 0; i < n; i++)
        {
            var second = first + i;
            var b = BucketOrEmpty(second);
            s.UnixSeconds[i] = _startUtc.AddSeconds(second + 1).ToUnixTimeSeconds();
            s.OutputTokensPerSecond[i] = b.OutputTokens;
            s.PrefillTokensPerSecond[i] = b.PrefillTokens;
            s.BusyFraction[i] = Math.Min(1, b.BusySeconds);
            s.Occupancy[i] = b.BusySeconds > 0 ? b.OccupancySeconds / b.BusySeconds : 0;
            s.Mfu[i] = StepMetrics.Utilization(b.Flops, 1, ceilings.PeakFlopsPerSecond);
            s.Mbu[i] = StepMetrics.Utilization(b.Bytes, 1, ceilings.PeakBytesPerSecond);
            s.GpuUtilization[i] = b.GpuSamples > 0 ? b.GpuUtilizationSum / b.GpuSamples : null;
            if (b.Running >= 0)
            {
                (running, waiting, runningOffline, waitingOffline) = (b.Running, b.Waiting, b.RunningOffline, b.WaitingOffline);
            }

            s.Running[i] = running;
            s.Waiting[i] = waiting;
            s.RunningOffline[i] = runningOffline;
            s.WaitingOffline[i] = waitingOffline;
            s.TtftOnline[i] = Mean(b.Online.TtftSeconds, b.Online.Requests);
            s.TtftOffline[i] = Mean(b.Offline.TtftSeconds, b.Offline.Requests);
            s.E2eOnline[i] = Mean(b.Online.E2eSeconds, b.Online.Requests);
            s.E2eOffline[i] = Mean(b.Offline.E2eSeconds, b.Offline.Requests);
            trailingTokens += b.OutputTokens;
            if (second - CostSeriesWindowSeconds >= 0)
            {
                trailingTokens -= BucketOrEmpty(second - CostSeriesWindowSeconds).OutputTokens;
            }

            var trailingSeconds = Math.Min(CostSeriesWindowSeconds, second + 1);
            s.CostPerMillionOutputTokens[i] = WindowStats.CostPerMillion(Device.CostPerSecond, trailingSeconds, trailingTokens);
        }

        return s;
    }

    private ModelSummary Summary() => new(
        CostModel.Config.Architecture, CostModel.Config.ParameterCount, CostModel.MatmulFlopsPerToken, CostModel.FixedWeightBytes(true),
        CostModel.KvBytesPerPosition, CostModel.KvDType.ToString());

    private GpuCounters GpuCounters() => _nvml is null
        ? new GpuCounters(false, "NVML not available: GPU sampling is switched off", null, [], [])
        : new GpuCounters(_nvml.IsAvailable, _nvml.Status, _nvml.LastError, _nvml.DeviceNames, _nvml.Latest());

    private static double? Mean(double sum, int count) => count > 0 ? sum / count : null;

    private void Add(ref SecondBucket bucket, in StepMetrics m)
    {
        var r = m.Record;
        bucket.FixedWeightBytes += CostModel.FixedWeightBytes(r.SampledTokens > 0);
        bucket.Steps++;
        bucket.BusySeconds += r.StepSeconds;
        bucket.ForwardSeconds += r.ForwardSeconds;
        bucket.HostInStepSeconds += m.HostSecondsInStep;
        bucket.HostGapSeconds += m.HostGapSeconds ?? 0;
        bucket.PrefillTokens += r.PrefillTokens;
        bucket.DecodeTokens += r.DecodeTokens;
        bucket.OutputTokens += r.SampledTokens;
        bucket.SequenceSum += r.Sequences;
        bucket.Flops += m.Cost.Flops;
        bucket.Bytes += m.Cost.Bytes;
        bucket.OccupancySeconds += m.Occupancy * r.StepSeconds;
        bucket.Preempted += r.Preempted;
        bucket.SwappedOutBlocks += r.SwappedOutBlocks;
        bucket.SwappedInBlocks += r.SwappedInBlocks;
        bucket.PrefixQueriedTokens += r.PrefixQueriedTokens;
        bucket.PrefixHitTokens += r.PrefixHitTokens;
        bucket.Drafts += r.Speculation.Drafts;
        bucket.DraftTokens += r.Speculation.DraftTokens;
        bucket.AcceptedDraftTokens += r.Speculation.AcceptedTokens;
        bucket.SpeculationOffSteps += r.Speculation.PolicyOff ? 1 : 0;
        bucket.DraftSeconds += r.Speculation.DraftSeconds;
        bucket.Running = r.Running;
        bucket.Waiting = r.Waiting;
        bucket.RunningOffline = r.RunningOffline;
        bucket.WaitingOffline = r.WaitingOffline;
        bucket.MaxRunning = Math.Max(bucket.MaxRunning, r.MaxRunning);
    }

    private SecondBucket Sum(long from, long to)
    {
        var sum = SecondBucket.Empty(to);
        for (var s = Math.Max(0, from); s <= to; s++)
        {
            var b = BucketOrEmpty(s);
            sum.Accumulate(b);
        }

        return sum;
    }

    private SecondBucket BucketOrEmpty(long second)
    {
        ref var slot = ref _buckets[second % HistorySeconds];
        return slot.Second == second ? slot : SecondBucket.Empty(second);
    }

    private ref SecondBucket BucketAt(long second)
    {
        ref var slot = ref _buckets[second % HistorySeconds];
        if (slot.Second != second)
        {
            slot = SecondBucket.Empty(second);
        }

        return ref slot;
    }

    private long SecondOf(long timestamp) => (long)Math.Floor(Seconds(_startTimestamp, timestamp));

    private double Seconds(long from, long to) => (double)(to - from) / _time.TimestampFrequency;

    public void Dispose()
    {
        if (_nvml is not null)
        {
            _nvml.Sampled -= RecordGpuSample;
            if (_ownsNvml)
            {
                _nvml.Dispose();
            }
        }

        if (Interlocked.Exchange(ref _engine, null) is { } engine)
        {
            engine.StepCompleted -= RecordStep;
        }
    }
}
