using Brim.Core.Statistics;
using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Server.Bench.Traffic;
using Brim.Server.Hosting;
using Brim.Telemetry.Devices;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench mixed`: online traffic (<c>--traffic</c>: Poisson, on/off bursts or a compressed day, ShareGPT-like
/// lengths) at ~20 % of the engine's capacity plus an offline backlog, compared with online alone and offline alone, and
/// an online overload that shows the offline reserve at work. The runs that mix both classes use the engine's offline
/// cap under <c>--step-budget-ms</c> (auto: derived from the online-only run) and <c>--online-tpot-slo-ms</c>; the
/// unified run is also reported by phase of the traffic against the online-only run of the same trace.
/// </summary>
internal static class BenchMixedCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var duration = new Option<double>("--duration") { Description = "Seconds per run", DefaultValueFactory = _ => 10 };
        var onlineShare = new Option<double>("--online-share") { Description = "Online load as a share of measured capacity", DefaultValueFactory = _ => 0.2 };
        var windowMs = new Option<double>("--window-ms") { Description = "Batch-collection window for online", DefaultValueFactory = _ => 5 };
        var reserve = new Option<double>("--offline-reserve") { Description = "Share of slots offline keeps", DefaultValueFactory = _ => 0.1 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var headroom = new Option<int>("--online-headroom") { Description = "Batch slots offline backfill leaves free for arriving online requests", DefaultValueFactory = _ => 0 };
        var stepBudget = new Option<StepBudgetChoice>("--step-budget-ms")
        {
            Description = "Step-time budget of the offline token cap in the unified and overload runs: auto (1.1 × online-only p99 TTFT / 2), off, or milliseconds",
            DefaultValueFactory = _ => StepBudgetChoice.Auto,
            CustomParser = r =>
            {
                if (StepBudgetChoice.TryParse(r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Empty, out var choice))
                {
                    return choice;
                }

                r.AddError($"--step-budget-ms must be auto, off, or milliseconds in [0.01, 10000]; got '{string.Join(' ', r.Tokens.Select(t => t.Value))}'");
                return StepBudgetChoice.Off;
            },
        };
        var traffic = new Option<TrafficShape>("--traffic")
        {
            Description = "Online arrivals: poisson; bursty (on 1 s / off 3 s on average, the same mean rate); diurnal (one day compressed into the run: its peak at --peak-share of capacity, night at 5 % of the peak; --online-share does not apply)",
            DefaultValueFactory = _ => TrafficShape.Poisson,
        };
        var tpotSlo = new Option<TpotSloChoice>("--online-tpot-slo-ms")
        {
            Description = "Online TPOT budget in the mixed runs: auto (learned from the online work's own TPOT, its p99 kept within 1.1 × alone), step (1.05 × each step's own online work, the earlier policy), milliseconds, or a multiple of the online-only p99 TPOT such as 1.1x",
            DefaultValueFactory = _ => TpotSloChoice.Auto,
            CustomParser = r => ParseTpot(r, "--online-tpot-slo-ms", r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Empty),
        };
        var tpotSweep = new Option<TpotSloChoice[]>("--tpot-slo")
        {
            Description = "A sweep: one more unified run per TPOT budget (auto, step, milliseconds, or a multiple of online-only p99 such as 1.5x), comma-separated, and the frontier table (unified % of capacity vs online TPOT p99 ratio)",
            DefaultValueFactory = _ => [],
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(v => ParseTpot(r, "--tpot-slo", v))],
        };
        var windowSweep = new Option<double[]>("--window-sweep-ms")
        {
            Description = "A sweep: one more unified run per batch-collection window (milliseconds, comma-separated, e.g. 0,5,10,20), in the frontier table",
            DefaultValueFactory = _ => [],
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(v => ParseWindow(r, v))],
        };
        var peakShare = new Option<double>("--peak-share")
        {
            Description = "Diurnal traffic: the day's peak as a share of measured capacity (put it at the online SLO's knee)",
            DefaultValueFactory = _ => 0.6,
            CustomParser = r => double.TryParse(r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Empty, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 2
                ? v
                : Fail(r, "--peak-share must be a share of capacity in (0, 2]"),
        };
        var chart = new Option<string?>("--chart") { Description = "Write the unified run over time (online and offline tokens/s, online p99 TPOT) as an SVG to this path" };
        var hourlyCost = new Option<double?>("--gpu-hourly-cost") { Description = "Dollars per device-hour for the cost table (default: the card's catalog price)" };
        var skipOverload = new Option<bool>("--skip-overload") { Description = "Leave out the online-overload run (sweeps that only need the frontier)" };
        var command = new Command("mixed", "Online + offline on one engine: online-only vs offline-only vs unified backfill") { duration, onlineShare, windowMs, reserve, seed, headroom, stepBudget, traffic, tpotSlo, tpotSweep, windowSweep, peakShare, chart, hourlyCost, skipOverload };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = GpuDefaultModel.Apply(model, result, model.Read(result));
            options = options with
            {
                Engine = options.Engine with
                {
                    BatchWindow = TimeSpan.FromMilliseconds(result.GetValue(windowMs)),
                    OfflineReservedShare = result.GetValue(reserve),
                    OnlineHeadroomSlots = result.GetValue(headroom),
                },
            };
            var span = TimeSpan.FromSeconds(result.GetValue(duration));
            var backlog = options.Engine.MaxRunningSequences * 2;
            var shape = result.GetValue(traffic);
            var tpotChoice = result.GetValue(tpotSlo);
            TimeSpan? tpotTarget = null;
            var maxModelLength = 0;
            var deviceName = string.Empty;

            MixedRunResult Run(string label, TrafficTrace online, bool offline, TimeSpan? budget = null, bool mixed = false, TimeSpan? tpot = null, TimeSpan? window = null, bool? perStep = null)
            {
                var engine = options.Engine with
                {
                    StepTimeBudget = budget,
                    OnlineTpotSlo = mixed ? tpot ?? tpotTarget : null,
                    LearnOnlineTpot = !(perStep ?? tpotChoice.PerStep),
                    BatchWindow = window ?? options.Engine.BatchWindow,
                };
                using var host = ModelHost.Load(options with { Engine = engine });
                Console.Error.WriteLine($"{label}: {online.Arrivals.Count / span.TotalSeconds:F1} online req/s{(offline ? " + offline backlog" : "")} for {span.TotalSeconds:F0} s on {host.DeviceNote}");
                return new MixedBenchmark(host.Tokenizer, result.GetValue(seed)).Run(label, host.Engine, online, offline, span, backlog);
            }

            // A discarded warm-up first: a cold runtime (JIT, caches) would understate the capacity everything is scaled by.
            using (var warm = ModelHost.Load(options))
            {
                maxModelLength = warm.Engine.MaxModelLength;
                deviceName = warm.Engine.DeviceName;
                new MixedBenchmark(warm.Tokenizer, 0).Run("warm-up", warm.Engine, MixedBenchmark.NoOnline(span), offlineBacklog: true, TimeSpan.FromSeconds(Math.Min(3, span.TotalSeconds)), backlog);
            }

            var meanOnlineOutput = MixedBenchmark.MeanOnlineOutput(maxModelLength, result.GetValue(seed));
            var offlineOnly = Run("offline-only", MixedBenchmark.NoOnline(span), offline: true);
            var capacity = offlineOnly.TotalTokensPerSecond;
            var share = shape == TrafficShape.Diurnal ? result.GetValue(peakShare) : result.GetValue(onlineShare);
            var rate = share * capacity / meanOnlineOutput;
            var trace = MixedBenchmark.Traffic(shape, rate, span, result.GetValue(seed), maxModelLength);
            var onlineOnly = Run("online-only", trace, offline: false);
            var budgetChoice = result.GetValue(stepBudget);
            var budget = budgetChoice.Resolve(Quantile.Of(onlineOnly.Online.Ttft, 0.99));
            var onlineOnlyTpotP99 = Quantile.Of(onlineOnly.Online.Tpot, 0.99);
            tpotTarget = tpotChoice.Resolve(onlineOnlyTpotP99);
            var unified = Run("unified", trace, offline: true, budget, mixed: true);
            var overload = result.GetValue(skipOverload)
                ? null
                : Run("online overload + offline", MixedBenchmark.Traffic(TrafficShape.Poisson, 1.5 * capacity / meanOnlineOutput, span, result.GetValue(seed), maxModelLength), offline: true, budget, mixed: true);
            var windowText = result.GetValue(windowMs).ToString("G4", CultureInfo.InvariantCulture);
            var sweep = new List<MixedReport.SweepPoint> { new(windowText, tpotChoice.ToString(), unified) };
            foreach (var choice in result.GetValue(tpotSweep)!.Where(c => c != tpotChoice))
            {
                sweep.Add(new(windowText, choice.ToString(), Run($"unified, --online-tpot-slo-ms {choice}", trace, offline: true, budget, mixed: true, tpot: choice.Resolve(onlineOnlyTpotP99), perStep: choice.PerStep)));
            }

            foreach (var w in result.GetValue(windowSweep)!.Where(w => w != result.GetValue(windowMs)))
            {
                sweep.Add(new(w.ToString("G4", CultureInfo.InvariantCulture), tpotChoice.ToString(), Run($"unified, window {w:G4} ms", trace, offline: true, budget, mixed: true, window: TimeSpan.FromMilliseconds(w))));
            }

            Console.WriteLine($"engine: max-num-seqs {options.Engine.MaxRunningSequences}, window {result.GetValue(windowMs)} ms, online headroom {result.GetValue(headroom)} slots, offline reserve {result.GetValue(reserve):P0}; capacity (offline-only) {capacity:F0} output tok/s; online traffic {shape.ToString().ToLowerInvariant()}, {(shape == TrafficShape.Diurnal ? "peak " : "")}rate {rate:F2} req/s ≈ {share:P0} of capacity (mean online output {meanOnlineOutput:F0} tokens)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"online TPOT budget in the mixed runs: --online-tpot-slo-ms {tpotChoice}{(tpotTarget is { } tt ? $" → {tt.TotalMilliseconds:G4} ms per step" : tpotChoice.PerStep ? " (1.05 × each step's own online work)" : " (learned: online p99 TPOT within 1.1 × alone, after 32 finished online requests)")}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline token cap in the mixed runs: --step-budget-ms {budgetChoice} → {(budget is { } b ? $"{b.TotalMilliseconds:F2} ms per step" : "off")}{(budgetChoice.IsAuto ? " (1.1 × online-only p99 TTFT / 2)" : "")}"));
            Console.WriteLine();
            Console.WriteLine("| run | total tok/s | occupancy | online tok/s | online TTFT p50 / p99 (ms) | online TPOT p50 / p99 (ms) | offline tok/s | offline slot share | online refused (429) | step p50 / p99 (ms) | step budget (ms) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in new[] { onlineOnly, offlineOnly, unified, overload }.OfType<MixedRunResult>())
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Label} | {r.TotalTokensPerSecond:F0} | {r.Occupancy:P0} | {r.Online.OutputTokens / r.Seconds:F0} | {Ms(r.Online.Ttft, 0.5)} / {Ms(r.Online.Ttft, 0.99)} | {Ms(r.Online.Tpot, 0.5)} / {Ms(r.Online.Tpot, 0.99)} | {r.OfflineTokensPerSecond:F0} | {r.OfflineSlotShare:P0} | {r.Online.Refused} | {Ms(r.StepSeconds, 0.5)} / {Ms(r.StepSeconds, 0.99)} | {(r.StepBudget is { } sb ? sb.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture) : "off")} |"));
            }

            Console.WriteLine();
            foreach (var r in new[] { offlineOnly, unified })
            {
                Console.WriteLine(r.StepCost is { } c
                    ? FormattableString.Invariant($"step cost fitted in the {r.Label} run ({c.FitTerms}): {c.FixedSeconds * 1e3:F3} ms + {c.DecodeSecondsPerToken * 1e6:F2} µs/decode row + {c.PrefillSecondsPerToken * 1e6:F2} µs/prefill token + {c.SecondsPerAttentionPosition * 1e9:F3} ns/attention position")
                    : $"step cost in the {r.Label} run: too few steps of different sizes to fit");
            }

            Console.WriteLine();
            Console.WriteLine($"unified run by phase of the {shape.ToString().ToLowerInvariant()} traffic, against online-only on the same trace:");
            PhaseReport.Write(Console.Out, unified, onlineOnly);

            var gain = unified.TotalTokensPerSecond / onlineOnly.TotalTokensPerSecond;
            var ttftLimit = (1.1 * Quantile.Of(onlineOnly.Online.Ttft, 0.99)) + (result.GetValue(windowMs) / 1e3);
            var ttft = Quantile.Of(unified.Online.Ttft, 0.99);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"unified / online-only total throughput: {gain:F2}x (target ≥ 3x) {Verdict(gain >= 3)}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"online p99 TTFT unified {ttft * 1e3:F1} ms vs limit 1.1 × online-only + window = {ttftLimit * 1e3:F1} ms {Verdict(ttft <= ttftLimit)}"));
            var tpotLimit = 1.1 * Quantile.Of(onlineOnly.Online.Tpot, 0.99);
            var tpot = Quantile.Of(unified.Online.Tpot, 0.99);
            Console.WriteLine(double.IsNaN(tpot) || double.IsNaN(tpotLimit)
                ? "online p99 TPOT: no online request finished within the run in both runs (a longer --duration compares them)"
                : string.Create(CultureInfo.InvariantCulture, $"online p99 TPOT unified {tpot * 1e3:F1} ms vs limit 1.1 × online-only = {tpotLimit * 1e3:F1} ms {Verdict(tpot <= tpotLimit)}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"unified total / offline-only capacity: {unified.TotalTokensPerSecond / capacity:P0} (target ≥ 80 %) {Verdict(unified.TotalTokensPerSecond >= 0.8 * capacity)}"));
            if (BackfillCeiling.Estimate(onlineOnly, offlineOnly) is { } ceiling)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ceiling at 1.1 × online-only p99 TPOT (estimate from the online-only and offline-only steps): +{ceiling.AllowanceSeconds * 1e3:F2} ms a step at {ceiling.SecondsPerToken * 1e6:F1} µs an offline token buys {ceiling.OfflineTokensPerStep:F0} offline tokens a step → total ≤ ~{ceiling.TotalTokensPerSecond:F0} tok/s = {ceiling.ShareOfCapacity:P0} of capacity; unified reached {unified.TotalTokensPerSecond / ceiling.TotalTokensPerSecond:P0} of it"));
            }

            if (overload is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline slot share under online overload: {overload.OfflineSlotShare:P1} (reserve {result.GetValue(reserve):P0}) {Verdict(overload.OfflineSlotShare >= result.GetValue(reserve) * 0.999)}"));
            }

            Console.WriteLine();
            Console.WriteLine("frontier: unified runs of the same trace by batch window and online TPOT budget, against online-only and offline-only capacity:");
            MixedReport.WriteFrontier(Console.Out, capacity, onlineOnly, sweep);
            Console.WriteLine();
            var card = GpuCatalog.Find(deviceName);
            var cost = result.GetValue(hourlyCost) ?? card?.HourlyCost;
            MixedReport.WriteCost(Console.Out, cost, result.GetValue(hourlyCost) is null ? (card is null ? "none" : $"catalog default for {card.Name}") : "--gpu-hourly-cost",
                [onlineOnly, offlineOnly, .. sweep.Select(p => p.Run)]);
            if (result.GetValue(chart) is { } chartPath)
            {
                File.WriteAllText(chartPath, MixedReport.Chart(unified, onlineOnly, shape.ToString().ToLowerInvariant()));
                Console.WriteLine();
                Console.WriteLine($"chart of the unified run over time: {chartPath}");
            }

            return 0;
        });
        return command;
    }

    private static string Ms(IReadOnlyList<double> samples, double q) => PhaseReport.Ms(samples, q);

    private static TpotSloChoice ParseTpot(System.CommandLine.Parsing.ArgumentResult r, string option, string text)
    {
        if (TpotSloChoice.TryParse(text, out var choice))
        {
            return choice;
        }

        r.AddError($"{option} must be auto, step, milliseconds in (0, 10000], or a multiple of the online-only p99 such as 1.1x; got '{text}'");
        return TpotSloChoice.Auto;
    }

    private static double ParseWindow(System.CommandLine.Parsing.ArgumentResult r, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0 && ms <= 1000
            ? ms
            : Fail(r, $"--window-sweep-ms takes milliseconds in [0, 1000]; got '{text}'");

    private static double Fail(System.CommandLine.Parsing.ArgumentResult r, string message)
    {
        r.AddError(message);
        return 0;
    }

    private static string Verdict(bool met) => met ? "— met" : "— NOT met";
}
