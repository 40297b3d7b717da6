using Brim.Core.Statistics;
using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench mixed`: online Poisson traffic at ~20 % of the engine's capacity plus an offline backlog, compared
/// with online alone and offline alone, and an online overload that shows the offline reserve at work. The runs that mix
/// both classes use the engine's offline token cap under <c>--step-budget-ms</c> (auto: derived from the online-only run).
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
        var command = new Command("mixed", "Online + offline on one engine: online-only vs offline-only vs unified backfill") { duration, onlineShare, windowMs, reserve, seed, headroom, stepBudget };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = model.Read(result);
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
            const double meanOnlineOutput = 80; // online outputs are uniform in 32..128 tokens

            MixedRunResult Run(string label, double rate, bool offline, TimeSpan? budget = null)
            {
                using var host = ModelHost.Load(options with { Engine = options.Engine with { StepTimeBudget = budget } });
                Console.Error.WriteLine($"{label}: {rate:F1} online req/s{(offline ? " + offline backlog" : "")} for {span.TotalSeconds:F0} s on {host.DeviceNote}");
                return new MixedBenchmark(host.Tokenizer, result.GetValue(seed)).Run(label, host.Engine, rate, offline, span, backlog);
            }

            // A discarded warm-up first: a cold runtime (JIT, caches) would understate the capacity everything is scaled by.
            using (var warm = ModelHost.Load(options))
            {
                new MixedBenchmark(warm.Tokenizer, 0).Run("warm-up", warm.Engine, 0, offlineBacklog: true, TimeSpan.FromSeconds(Math.Min(3, span.TotalSeconds)), backlog);
            }

            var offlineOnly = Run("offline-only", 0, offline: true);
            var capacity = offlineOnly.TotalTokensPerSecond;
            var rate = result.GetValue(onlineShare) * capacity / meanOnlineOutput;
            var onlineOnly = Run("online-only", rate, offline: false);
            var budgetChoice = result.GetValue(stepBudget);
            var budget = budgetChoice.Resolve(Quantile.Of(onlineOnly.Online.Ttft, 0.99));
            var unified = Run("unified", rate, offline: true, budget);
            var overload = Run("online overload + offline", 1.5 * capacity / meanOnlineOutput, offline: true, budget);

            Console.WriteLine($"engine: max-num-seqs {options.Engine.MaxRunningSequences}, window {result.GetValue(windowMs)} ms, online headroom {result.GetValue(headroom)} slots, offline reserve {result.GetValue(reserve):P0}; capacity (offline-only) {capacity:F0} output tok/s; online rate {rate:F2} req/s ≈ {result.GetValue(onlineShare):P0} of capacity");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline token cap in the mixed runs: --step-budget-ms {budgetChoice} → {(budget is { } b ? $"{b.TotalMilliseconds:F2} ms per step" : "off")}{(budgetChoice.IsAuto ? " (1.1 × online-only p99 TTFT / 2)" : "")}"));
            Console.WriteLine();
            Console.WriteLine("| run | total tok/s | occupancy | online tok/s | online TTFT p50 / p99 (ms) | online TPOT p50 / p99 (ms) | offline tok/s | offline slot share | online refused (429) | step p50 / p99 (ms) | step budget (ms) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in new[] { onlineOnly, offlineOnly, unified, overload })
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

            var gain = unified.TotalTokensPerSecond / onlineOnly.TotalTokensPerSecond;
            var ttftLimit = (1.1 * Quantile.Of(onlineOnly.Online.Ttft, 0.99)) + (result.GetValue(windowMs) / 1e3);
            var ttft = Quantile.Of(unified.Online.Ttft, 0.99);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"unified / online-only total throughput: {gain:F2}x (target ≥ 3x) {Verdict(gain >= 3)}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"online p99 TTFT unified {ttft * 1e3:F1} ms vs limit 1.1 × online-only + window = {ttftLimit * 1e3:F1} ms {Verdict(ttft <= ttftLimit)}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offline slot share under online overload: {overload.OfflineSlotShare:P1} (reserve {result.GetValue(reserve):P0}) {Verdict(overload.OfflineSlotShare >= result.GetValue(reserve) * 0.999)}"));
            return 0;
        });
        return command;
    }

    private static string Ms(IReadOnlyList<double> samples, double q) =>
        samples.Count == 0 ? "n/a" : (Quantile.Of(samples, q) * 1e3).ToString("F1", CultureInfo.InvariantCulture);

    private static string Verdict(bool met) => met ? "— met" : "— NOT met";
}
