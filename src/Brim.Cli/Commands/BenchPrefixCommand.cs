using Brim.Core.Statistics;
using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Server.Hosting;
using Brim.Telemetry.Cost;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench prefix`: repeated-prefix traffic with the prefix cache off and on, on one model in one run — a long
/// system prompt shared by every request, and multi-turn chats that resend their history — reporting output tokens/s,
/// TTFT p50/p99, the prompt tokens actually computed, the hit rate, and the physical floor of the work each run did.
/// </summary>
internal static class BenchPrefixCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var requests = new Option<int>("--requests") { Description = "Requests sharing the system prompt", DefaultValueFactory = _ => 200, CustomParser = OptionValues.AtLeastOne };
        var prefixLength = new Option<int>("--prefix-len") { Description = "Tokens of the shared system prompt", DefaultValueFactory = _ => 2000, CustomParser = OptionValues.AtLeastOne };
        var suffixLength = new Option<int>("--suffix-len") { Description = "Unique tokens per request (the user message of each chat turn)", DefaultValueFactory = _ => 100, CustomParser = OptionValues.AtLeastOne };
        var outputLength = new Option<int>("--output-len") { Description = "Output tokens per request (EOS ignored)", DefaultValueFactory = _ => 200, CustomParser = OptionValues.AtLeastOne };
        var conversations = new Option<int>("--conversations") { Description = "Chats replayed at once (0: skip the chat workload)", DefaultValueFactory = _ => 64 };
        var turns = new Option<int>("--turns") { Description = "Turns per chat", DefaultValueFactory = _ => 4, CustomParser = OptionValues.AtLeastOne };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new Command("prefix", "Prefix caching off vs on: a shared system prompt and multi-turn chats")
        {
            requests, prefixLength, suffixLength, outputLength, conversations, turns, seed,
        };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = model.Read(result);
            var rows = new List<PrefixRunResult>();
            string device = "", shape = "";
            foreach (var caching in new[] { false, true })
            {
                using var host = ModelHost.Load(options with { Engine = options.Engine with { EnablePrefixCaching = caching } });
                device = host.DeviceNote;
                var engine = host.Engine;
                var w = Fit(new PrefixWorkloads(result.GetValue(prefixLength), result.GetValue(suffixLength), result.GetValue(outputLength), host.Config.VocabSize),
                    engine.MaxModelLength, result.GetValue(turns));
                shape = $"system prompt {w.PrefixLength} tokens, suffix {w.SuffixLength}, output {w.OutputLength} (EOS ignored); max-num-seqs {engine.Options.MaxRunningSequences}, KV blocks {engine.TotalKvBlocks} x {engine.Options.BlockSize}";
                var cost = BenchCommand.CostModel(host);
                var ceilings = host.Backend is Backends.Cuda.CudaBackend cuda ? cuda.MeasureCeilings() : null;
                (double, double)? peaks = ceilings is null ? null : (ceilings.GemmTflops * 1e12, ceilings.CopyGBps * 1e9);
                var tag = caching ? "on" : "off";

                // Warm-up on other tokens, then a cold cache: the first measured request computes the prefix itself.
                PrefixRun.Run("warm-up", engine, w.SharedSystemPrompt(4, seed: -1), cost, null);
                _ = engine.ResetPrefixCacheAsync();
                rows.Add(PrefixRun.Run($"shared system prompt, cache {tag}", engine, w.SharedSystemPrompt(result.GetValue(requests), result.GetValue(seed)), cost, peaks));
                if (result.GetValue(conversations) is > 0 and var chats)
                {
                    _ = engine.ResetPrefixCacheAsync();
                    var random = new Random(result.GetValue(seed));
                    var maxTurns = result.GetValue(turns);
                    rows.Add(PrefixRun.Run($"{chats} chats x {maxTurns} turns, cache {tag}", engine, w.FirstTurns(chats, result.GetValue(seed)), cost, peaks,
                        (previous, answer) =>
                        {
                            var turn = int.Parse(previous.Id.Value[(previous.Id.Value.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture) + 1;
                            return turn < maxTurns ? w.NextTurn(previous, answer, turn, random) : null;
                        }));
                }
            }

            Console.WriteLine($"model: {result.GetValue(model.Model)?.FirstOrDefault() ?? "stories260K (bundled)"}  device: {device}");
            Console.WriteLine($"workload: {shape}; every request (every chat's first turn) arrives at t=0");
            Console.WriteLine();
            Console.WriteLine("| run | requests | output tok/s | TTFT p50 (ms) | TTFT p99 (ms) | prompt tokens computed | hit rate | evictions | seconds | floor s | % of floor |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Label} | {r.Requests} | {r.OutputTokensPerSecond:F0} | {Ms(r.Ttft, 0.5)} | {Ms(r.Ttft, 0.99)} | {r.ComputedPromptTokens} | {(double.IsNaN(r.HitRate) ? "off" : r.HitRate.ToString("P1", CultureInfo.InvariantCulture))} | {r.Evictions} | {r.Seconds:F2} | {(r.FloorSeconds is { } f ? f.ToString("F2", CultureInfo.InvariantCulture) : "n/a")} | {(r.FloorSeconds is { } g ? (g / r.Seconds).ToString("P0", CultureInfo.InvariantCulture) : "n/a")} |"));
            }

            Console.WriteLine();
            var half = rows.Count / 2;
            for (var i = 0; i < half; i++)
            {
                var (off, on) = (rows[i], rows[i + half]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{on.Label[..on.Label.LastIndexOf(',')]}: cache on / off {on.OutputTokensPerSecond / off.OutputTokensPerSecond:F2}x output tok/s, TTFT p50 {Quantile.Of(off.Ttft, 0.5) / Quantile.Of(on.Ttft, 0.5):F1}x lower, p99 {Quantile.Of(off.Ttft, 0.99) / Quantile.Of(on.Ttft, 0.99):F1}x lower, hit rate {on.HitRate:P1}"));
            }

            return 0;
        });
        return command;
    }

    /// <summary>Scales the lengths down to the model's context when a chat's last turn would not fit (the bundled model holds 512 positions).</summary>
    private static PrefixWorkloads Fit(PrefixWorkloads w, int maxModelLength, int turns)
    {
        var longest = w.PrefixLength + (turns * (w.SuffixLength + w.OutputLength));
        if (longest <= maxModelLength)
        {
            return w;
        }

        var scale = (double)(maxModelLength - 1) / longest;
        var fitted = w with
        {
            PrefixLength = Math.Max(1, (int)(w.PrefixLength * scale)),
            SuffixLength = Math.Max(1, (int)(w.SuffixLength * scale)),
            OutputLength = Math.Max(1, (int)(w.OutputLength * scale)),
        };
        Console.Error.WriteLine($"brim: the workload's longest prompt ({longest} tokens) exceeds the model's context ({maxModelLength}); lengths scaled by {scale:F2}");
        return fitted;
    }

    private static string Ms(IReadOnlyList<double> samples, double q) =>
        samples.Count == 0 ? "n/a" : (Quantile.Of(samples, q) * 1e3).ToString("F1", CultureInfo.InvariantCulture);
}
