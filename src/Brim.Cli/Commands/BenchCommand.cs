using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Telemetry.Cost;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench`: offline throughput of static versus continuous batching on a mixed-length workload (the same
/// requests, the same batch size, the same model in one run), and `brim bench decode` for fixed shapes.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var requests = new Option<int>("--requests") { Description = "Requests in the workload", DefaultValueFactory = _ => 200 };
        var minOutput = new Option<int>("--min-output") { DefaultValueFactory = _ => 8 };
        var maxOutput = new Option<int>("--max-output") { DefaultValueFactory = _ => 256 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var shortLimit = new Option<int>("--short") { Description = "Requests with at most this many output tokens count as short", DefaultValueFactory = _ => 32 };

        var command = new Command("bench", "Offline throughput: static vs continuous batching on a mixed-length workload")
        {
            requests, minOutput, maxOutput, seed, shortLimit,
        };
        model.AddTo(command);
        command.Subcommands.Add(DecodeCommand());
        command.Subcommands.Add(BenchServeCommand.Create());
        command.Subcommands.Add(BenchMixedCommand.Create());
        command.Subcommands.Add(BenchReportCommand.Create());
        command.Subcommands.Add(BenchPrefixCommand.Create());
        command.Subcommands.Add(BenchSpecCommand.Create());
        command.Subcommands.Add(BenchRightsizeCommand.Create());
        command.SetAction(result =>
        {
            var results = new List<OfflineRunResult>();
            string device = "";
            foreach (var mode in new[] { BatchingMode.Static, BatchingMode.Continuous })
            {
                using var host = ModelHost.Load(model.Read(result, mode));
                device = host.DeviceNote;
                var workload = OfflineWorkload.Create(host.Tokenizer, result.GetValue(requests), result.GetValue(minOutput), result.GetValue(maxOutput), result.GetValue(seed));
                OfflineRun.Run("warm-up", host.Engine, workload.Take(4).ToList(), progress: false);
                results.Add(OfflineRun.Run(mode.ToString().ToLowerInvariant(), host.Engine, workload));
            }

            var limit = result.GetValue(shortLimit);
            Console.WriteLine($"model: {result.GetValue(model.Model)?.FirstOrDefault() ?? "stories260K (bundled)"}  device: {device}  max-num-seqs: {result.GetValue(model.MaxNumSeqs)}");
            Console.WriteLine($"workload: {result.GetValue(requests)} requests, output {result.GetValue(minOutput)}..{result.GetValue(maxOutput)} tokens, all arriving at t=0");
            Console.WriteLine();
            Console.WriteLine("| batching | output tok/s | seconds | occupancy | steps | p50 latency short (≤" + limit + " tok) | p50 latency all | p99 latency all | preemptions |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Label} | {r.OutputTokensPerSecond:F0} | {r.Seconds:F2} | {r.MeanOccupancy:P0} | {r.Steps} | {r.LatencyP50(n => n <= limit):F2} s | {r.LatencyP50(_ => true):F2} s | {r.LatencyP99(_ => true):F2} s | {r.Preemptions} |"));
            }

            var speedup = results[1].OutputTokensPerSecond / results[0].OutputTokensPerSecond;
            var shortRatio = results[0].LatencyP50(n => n <= limit) / results[1].LatencyP50(n => n <= limit);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"continuous / static throughput: {speedup:F2}x (target ≥ 1.3x); short-request p50 latency {shortRatio:F1}x lower"));
            return 0;
        });
        return command;
    }

    private static Command DecodeCommand()
    {
        var model = new ModelOptions();
        var batchSizes = new Option<int[]>("--batch-sizes")
        {
            Description = "Batch sizes to measure (comma-separated)", DefaultValueFactory = _ => [1, 4, 8, 16, 32, 64, 128, 256], CustomParser = OptionValues.BatchSizes,
        };
        var promptLength = new Option<int>("--prompt-len") { DefaultValueFactory = _ => 128 };
        var outputLength = new Option<int>("--output-len") { DefaultValueFactory = _ => 128 };
        var offlineRequests = new Option<int>("--offline-requests") { Description = "Afterwards, run this many requests through --max-num-seqs slots (0: skip)" };
        var command = new Command("decode", "Throughput at fixed batch sizes: every request has the same prompt and output length")
        {
            batchSizes, promptLength, outputLength, offlineRequests,
        };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var sizes = result.GetValue(batchSizes)!;
            var options = model.Read(result);
            var slots = options.Engine.MaxRunningSequences;
            var host = ModelHost.Load(options with { Engine = options.Engine with { MaxRunningSequences = Math.Max(slots, sizes.Max()) } });
            var config = host.Config;
            var p = result.GetValue(promptLength);
            var o = result.GetValue(outputLength);
            // Tensor-parallel ranks each read their share: the floor is the step's bytes over every rank's bandwidth.
            var (ceilings, ranks) = (host.MeasureCeilings(), host.DeviceCount);
            Console.WriteLine($"model: {host.ModelPath} ({config.ParameterCount / 1e9:F2} B parameters, {host.WeightsNote})  device: {host.DeviceNote}");
            Console.WriteLine($"workload: prompt {p} tokens, output {o} tokens (EOS ignored), end to end incl. prefill; KV blocks: {host.Engine.TotalKvBlocks} x {host.Engine.Options.BlockSize}");
            if (ceilings is not null)
            {
                Console.WriteLine($"ceilings measured in this run: {ceilings}{(ranks > 1 ? $", per GPU, {ranks} GPUs: floors over all of them" : string.Empty)}");
            }

            // Two yardsticks: the decode roofline (a decode step's bytes over the copy bandwidth, against tokens/s that include
            // the prefill) as before, and the floor of the steps the run took, prefill included (each step at max(FLOPs / GEMM
            // peak, bytes / copy bandwidth)), against the run's own time.
            Console.WriteLine("| batch | output tok/s | seconds | steps | forward ms/step | engine ms/step | floor ms/step | roofline tok/s | % of roofline | floor of its steps (s) | % of that floor |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            OfflineRun.Run("warm-up", host.Engine, OfflineWorkload.FixedShape(2, 8, 4, config.VocabSize, 0), progress: false);
            var stepsFloor = ceilings is null ? ((ModelCostModel, double, double)?)null : (CostModel(host), ranks * ceilings.GemmTflops * 1e12, ranks * ceilings.CopyGBps * 1e9);
            foreach (var b in sizes)
            {
                var r = OfflineRun.Run($"batch {b}", host.Engine, OfflineWorkload.FixedShape(b, p, o, config.VocabSize, b), floor: stepsFloor);
                var floor = ceilings is null ? double.NaN : DecodeFloorSeconds(host, b, p + (o / 2), ranks * ceilings.CopyGBps * 1e9);
                var roofline = b / floor;
                var ofSteps = r.FloorSeconds is { } f ? string.Create(CultureInfo.InvariantCulture, $"{f:F3} | {f / r.Seconds:P0}") : "n/a | n/a";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {b} | {r.OutputTokensPerSecond:F1} | {r.Seconds:F2} | {r.Steps} | {r.ForwardSeconds * 1e3 / r.Steps:F2} | {(r.StepSeconds - r.ForwardSeconds) * 1e3 / r.Steps:F2} | {floor * 1e3:F2} | {roofline:F0} | {r.OutputTokensPerSecond / roofline:P0} | {ofSteps} |"));
            }

            host.Dispose(); // frees the device memory (weights and KV cache) before the next load
            if (result.GetValue(offlineRequests) is > 0 and var n)
            {
                using var offline = ModelHost.Load(options);
                var floor = ceilings is null ? ((ModelCostModel, double, double)?)null : (CostModel(offline), ranks * ceilings.GemmTflops * 1e12, ranks * ceilings.CopyGBps * 1e9);
                var r = OfflineRun.Run($"{n} requests", offline.Engine, OfflineWorkload.FixedShape(n, p, o, config.VocabSize, 7), floor: floor);
                Console.WriteLine();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"offline: {n} requests of {p} prompt / {o} output tokens through {slots} slots: {r.OutputTokensPerSecond:F0} output tok/s, {(r.PromptTokens + r.OutputTokens) / r.Seconds:F0} total tok/s, {r.Seconds:F1} s, occupancy {r.MeanOccupancy:P0}, {r.Steps} steps, {r.Preemptions} preemptions ({r.SwapPreemptions} by swap), KV cache {offline.KvCacheNote}"));
                Console.WriteLine($"where the forward time went: {r.Mix}");
                if (r.FloorSeconds is { } f)
                {
                    // The floor of the steps this engine chose (their batch and context); a better schedule could lower it.
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"floor of these steps (each at max(FLOPs / GEMM peak, weights + K/V read / copy bandwidth)): {f:F1} s = {r.OutputTokens / f:F0} output tok/s; Brim at {f / r.Seconds:P0} of it (forward passes alone {r.ForwardSeconds:F1} s)"));
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The bandwidth floor of one decode step: the bytes the telemetry's cost model says such a step moves (weights
    /// once, every sequence's K/V read once, new K/V and logits written) over the measured copy bandwidth. Compute is
    /// ignored (it is far below the floor at these batch sizes).
    /// </summary>
    internal static double DecodeFloorSeconds(ModelHost host, int batch, int averageContext, double bytesPerSecond) =>
        CostModel(host).Estimate(StepShape.Decode(batch, averageContext)).Bytes / bytesPerSecond;

    /// <summary>The telemetry's cost model with the KV and projection bytes the backend really stores (scales included).</summary>
    internal static ModelCostModel CostModel(ModelHost host) =>
        new(host.Config, kvBytesPerPosition: host.KvBytesPerPosition, projectionBytes: host.ProjectionBytes);
}
