using Brim.Core;
using Brim.Engine;

namespace Brim.Telemetry.Tests;

/// <summary>MFU, MBU, occupancy, host time and cost windows from synthetic step records on a hand-moved clock.</summary>
public class TelemetryHubTests
{
    // Llama-3.1-8B on a device of 1 PFLOP/s and 3 TB/s that costs $3.60 an hour: $0.001 a second.
    private static readonly TelemetryOptions Options = new()
    {
        Model = Llama31.Config8B,
        DeviceName = "test device",
        PeakFlopsPerSecond = 1e15,
        PeakBytesPerSecond = 3e12,
        GpuHourlyCost = 3.60,
        UseNvml = false,
    };

    // 16 of 64 slots decoding at context 1024 each; 10 ms per step, 8 ms of it in the forward pass.
    private static StepRecord DecodeStep(long step, int running = 16) =>
        new(step, 16, 0, 16, 16, running, 0, 64, 1024, 4096, 0, 0.008, 0.010, 16 * 1024);

    // FLOPs: 16 · (13,958,643,712 matmul + 1,050,673,152 logits) + 16,384 positions · 524,288 = 248,739,004,416.
    private const double StepFlops = 248_739_004_416;

    // Bytes: weights 15,009,849,344 + 16 embedding rows 131,072 + KV read 16,384 · 131,072 = 2,147,483,648
    //        + KV written 16 · 131,072 = 2,097,152 + logits 16 · 513,024 = 8,208,384 → 17,167,769,600.
    private const double StepBytes = 17_167_769_600;
    private const double FixedWeightBytes = 15_009_849_344;

    [Fact]
    public void RecordStep_DecodeStep_DerivesOccupancyMfuMbu()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        clock.Advance(1);

        hub.RecordStep(DecodeStep(1));
        var step = hub.Snapshot().LastStep!.Value;

        Assert.Equal(0.25, step.Occupancy);
        Assert.Equal(StepFlops, step.Cost.Flops);
        Assert.Equal(StepBytes, step.Cost.Bytes);
        Assert.Equal(StepFlops / 0.010 / 1e15, step.Mfu!.Value, 12);
        Assert.Equal(StepBytes / 0.010 / 3e12, step.Mbu!.Value, 12);
        Assert.Equal(1600, step.OutputTokensPerSecond, 9);
        Assert.Equal(0.002, step.HostSecondsInStep, 12);
        Assert.Null(step.HostGapSeconds);
    }

    [Fact]
    public void RecordStep_WorkLeftBetweenSteps_MeasuresHostGap()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        clock.Advance(1);
        hub.RecordStep(DecodeStep(1));

        // The next step ends 13 ms later and took 10 ms: it started 3 ms after the previous one ended.
        clock.Advance(0.013);
        hub.RecordStep(DecodeStep(2, running: 0));
        Assert.Equal(0.003, hub.Snapshot().LastStep!.Value.HostGapSeconds!.Value, 9);

        // The previous step left nothing to do: the pause that follows is idleness, not host overhead.
        clock.Advance(5);
        hub.RecordStep(DecodeStep(3));
        Assert.Null(hub.Snapshot().LastStep!.Value.HostGapSeconds);
    }

    [Fact]
    public void Snapshot_StepsThatSwapped_TotalsSumTheBlocksAndKeepTheLatestSwapPreemptions()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        clock.Advance(1);

        // Two seconds apart, so the totals are sums across buckets too: 6 blocks out (2 victims, 1 swapped), then 4 back
        // and 3 more out (a third victim, swapped).
        hub.RecordStep(DecodeStep(1) with { Preempted = 2, SwappedOutBlocks = 6, SwapPreemptions = 1 });
        clock.Advance(2);
        hub.RecordStep(DecodeStep(2) with { Preempted = 1, SwappedOutBlocks = 3, SwappedInBlocks = 4, SwapPreemptions = 2 });
        clock.Advance(2);
        hub.RecordStep(DecodeStep(3) with { SwapPreemptions = 2 });
        var totals = hub.Snapshot().Totals;

        Assert.Equal(3, totals.Preempted);
        Assert.Equal(2, totals.SwapPreemptions);
        Assert.Equal(9, totals.SwappedOutBlocks);
        Assert.Equal(4, totals.SwappedInBlocks);
    }

    [Fact]
    public void Snapshot_StepsThatSpeculated_TotalsAndWindowRatesOfTheDrafts()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        clock.Advance(1);

        // 3 drafts of 12 tokens with 6 accepted, then a step the policy turned off, a second apart.
        hub.RecordStep(DecodeStep(1) with { Speculation = new(Drafts: 3, DraftTokens: 12, AcceptedTokens: 6, PolicyOff: false, DraftSeconds: 0.001) });
        clock.Advance(1);
        hub.RecordStep(DecodeStep(2) with { Speculation = new(0, 0, 0, PolicyOff: true, DraftSeconds: 0) });
        clock.Advance(2);
        var snapshot = hub.Snapshot();
        var minute = snapshot.Windows.Single(w => w.Name == "1m");

        Assert.Equal(3, snapshot.Totals.Drafts);
        Assert.Equal(12, snapshot.Totals.DraftTokens);
        Assert.Equal(6, snapshot.Totals.AcceptedDraftTokens);
        Assert.Equal(1, snapshot.Totals.SpeculationOffSteps);
        Assert.Equal(0.5, minute.SpecAcceptanceRate!.Value, 9);
        Assert.Equal(3.0, minute.SpecMeanAcceptedLength!.Value, 9); // 1 + 6 / 3
        Assert.Equal(0.001 / 0.020, minute.SpecDraftTimeShare!.Value, 9); // two steps of 10 ms
        Assert.Equal(1, minute.SpecPolicyOffSteps);
    }

    [Fact]
    public void Snapshot_TwoMinutesBusyThenOneIdle_WindowsAndCost()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        RunSteps(hub, clock, seconds: 120);

        var busy = hub.Snapshot();
        var minute = busy.Windows.Single(w => w.Name == "1m");
        // Seconds 61..119 complete (the 1 m window ends in the second now starting): 59 s · 100 steps · 16 tokens.
        Assert.Equal(59, minute.WallSeconds, 9);
        Assert.Equal(94_400, minute.OutputTokens);
        Assert.Equal(1600, minute.OutputTokensPerSecond, 9);
        Assert.Equal(1.0, minute.BusyFraction, 9);
        Assert.Equal(0.25, minute.Occupancy!.Value, 9);
        Assert.Equal(100 * StepFlops / 1e15, minute.Mfu!.Value, 9);
        Assert.Equal(100 * StepBytes / 3e12, minute.Mbu!.Value, 9);
        // $0.001/s · 59 s / 94,400 tokens · 1e6 = $0.625 per 1M tokens.
        Assert.Equal(0.625, minute.CostPerMillionOutputTokens!.Value, 9);

        // The cost chart's points: each completed second's trailing minute, 60 s · $0.001 / 96,000 tokens.
        Assert.Equal(120, busy.Series.UnixSeconds.Length); // seconds 0..119; second 120 is still filling
        Assert.Equal(0.625, busy.Series.CostPerMillionOutputTokens[^1]!.Value, 9);
        Assert.Equal(1600, busy.Series.OutputTokensPerSecond[^1]!.Value);

        var hour = busy.Windows.Single(w => w.Name == "1h");
        Assert.Equal(120, hour.WallSeconds, 9);
        Assert.Equal(192_000, hour.OutputTokens);

        clock.Advance(60);
        var idle = hub.Snapshot();
        var idleMinute = idle.Windows.Single(w => w.Name == "1m");
        Assert.Equal(0, idleMinute.OutputTokens);
        Assert.Null(idleMinute.CostPerMillionOutputTokens);
        Assert.Null(idleMinute.Occupancy);
        Assert.Null(idle.Series.CostPerMillionOutputTokens[^1]);
        Assert.Equal(0, idle.Series.Occupancy[^1]);
        Assert.Equal(0, idleMinute.Mfu!.Value);
        // The idle minute still costs: the 5 m window holds all 180 s since start, for 192,000 tokens.
        var fiveMinutes = idle.Windows.Single(w => w.Name == "5m");
        Assert.Equal(0.001 * 180 / 192_000 * 1e6, fiveMinutes.CostPerMillionOutputTokens!.Value, 9);
    }

    [Fact]
    public void Snapshot_BusyAtQuarterOccupancy_ProjectsFullOccupancyFromBytes()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        RunSteps(hub, clock, seconds: 70);

        var rows = hub.Snapshot().Economics.Rows;
        var measured = rows.Single(r => !r.Projected);
        Assert.Equal(0.25, measured.Occupancy, 9);
        Assert.Equal(1600, measured.OutputTokensPerSecond!.Value, 9);

        // At the measured occupancy and no idle time the projection is the measured rate.
        Assert.Equal(1600, rows.Single(r => r.Projected && r.Occupancy == 0.25).OutputTokensPerSecond!.Value, 6);

        // Full: 4× the sequences. Weights are read once; the other 2,157,920,256 bytes per step grow 4×:
        // 15,009,849,344 + 4 · 2,157,920,256 = 23,641,530,368 bytes, so the step takes 10 ms · 23,641,530,368 / 17,167,769,600,
        // and yields 64 tokens. The compute floor (4 · 248.7 GFLOP at 1 PFLOP/s ≈ 1 ms) does not bind.
        var full = rows.Single(r => r.Projected && r.Occupancy == 1.0);
        var expectedSeconds = 0.010 * (FixedWeightBytes + (4 * (StepBytes - FixedWeightBytes))) / StepBytes;
        Assert.Equal(64 / expectedSeconds, full.OutputTokensPerSecond!.Value, 6);
        Assert.Equal(0.001 / (64 / expectedSeconds) * 1e6, full.CostPerMillionOutputTokens!.Value, 9);
    }

    [Fact]
    public void Snapshot_ComputeBoundProjection_NeverBeatsPeakFlops()
    {
        // A device with a tiny compute ceiling: the projection must be limited by FLOPs, not bytes.
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options with { PeakFlopsPerSecond = 1e13 }, time: clock);
        RunSteps(hub, clock, seconds: 70);

        var full = hub.Snapshot().Economics.Rows.Single(r => r.Projected && r.Occupancy == 1.0);
        // 4 · 248,739,004,416 FLOPs at 1e13 FLOP/s = 99.5 ms for 64 tokens.
        Assert.Equal(64 / (4 * StepFlops / 1e13), full.OutputTokensPerSecond!.Value, 6);
    }

    [Fact]
    public void RecordRequest_PerClass_QuantilesOverFiveMinutes()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(Options, time: clock);
        foreach (var ttft in new[] { 0.1, 0.3, 0.2 })
        {
            hub.RecordRequest(TrafficClass.Online, TimeSpan.FromSeconds(ttft), TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(ttft + 1), 51);
        }

        hub.RecordRequest(TrafficClass.Offline, TimeSpan.FromSeconds(4), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(9), 101);

        clock.Advance(2);
        var latency = hub.Snapshot().Latency;
        var online = latency.Single(l => l.TrafficClass == TrafficClass.Online);
        Assert.Equal(3, online.Requests);
        Assert.Equal(153, online.OutputTokens);
        Assert.Equal(0.2, online.TtftP50!.Value, 9);
        Assert.Equal(0.3, online.TtftP95!.Value, 9);
        Assert.Equal(1.2, online.E2eP50!.Value, 9);
        Assert.Equal(0.02, online.TpotP95!.Value, 9);
        var offline = latency.Single(l => l.TrafficClass == TrafficClass.Offline);
        Assert.Equal(1, offline.Requests);
        Assert.Equal(4, offline.TtftP50!.Value, 9);
        Assert.Equal(9, offline.E2eP95!.Value, 9);

        // The per-second series carries the mean of the second the requests finished in.
        var series = hub.Snapshot().Series;
        Assert.Contains(series.TtftOnline, v => v is { } x && Math.Abs(x - 0.2) < 1e-9);
        Assert.Contains(series.TtftOffline, v => v is { } x && Math.Abs(x - 4) < 1e-9);
        Assert.DoesNotContain(series.E2eOnline, v => v is { } x && Math.Abs(x - 9) < 1e-9);

        clock.Advance(301);
        Assert.Equal(0, hub.Snapshot().Latency.Single(l => l.TrafficClass == TrafficClass.Online).Requests);
    }

    [Fact]
    public void Snapshot_UnknownCeilingsAndPrice_ReportNullNotZero()
    {
        var clock = new ManualClock();
        using var hub = new TelemetryHub(new TelemetryOptions { Model = Llama31.Config8B, DeviceName = "mystery accelerator", UseNvml = false }, time: clock);
        RunSteps(hub, clock, seconds: 3);

        var s = hub.Snapshot();
        Assert.Null(s.LastStep!.Value.Mfu);
        Assert.Null(s.LastStep!.Value.Mbu);
        Assert.All(s.Windows, w => Assert.Null(w.CostPerMillionOutputTokens));
        Assert.All(s.Series.Mfu, v => Assert.Null(v));
        Assert.Equal("unknown card: pass --gpu-hourly-cost", s.Device.HourlyCostSource);
        Assert.False(s.Gpu.Available);
        Assert.StartsWith("NVML not available:", s.Gpu.Status, StringComparison.Ordinal);
    }

    // 100 steps of 10 ms per second, each ending mid-way through its 10 ms slot, then the clock at the next whole second.
    private static void RunSteps(TelemetryHub hub, ManualClock clock, int seconds)
    {
        clock.Advance(0.005);
        for (var i = 1; i <= seconds * 100; i++)
        {
            hub.RecordStep(DecodeStep(i));
            clock.Advance(0.010);
        }

        clock.Advance(-0.005);
    }
}
