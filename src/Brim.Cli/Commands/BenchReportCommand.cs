using Brim.Core.Statistics;
using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Server.Bench.Traffic;
using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Telemetry.Devices;
using Brim.Telemetry.Nvml;
using Brim.Telemetry.Reports;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench report`: the standard experiments on whatever device is present — throughput and MBU by batch size
/// (with NVML's utilization beside it), static vs continuous batching, online-only vs unified backfill, cost per 1M
/// tokens — written as Markdown with SVG charts.
/// </summary>
internal static class BenchReportCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var output = new Option<string>("--out") { Description = "Report directory", DefaultValueFactory = _ => "brim-report" };
        var batchSizes = new Option<int[]>("--batch-sizes")
        {
            Description = "Batch sizes to measure (comma-separated)", DefaultValueFactory = _ => [1, 4, 8, 16, 32, 64, 128, 256], CustomParser = OptionValues.BatchSizes,
        };
        var promptLength = new Option<int>("--prompt-len") { DefaultValueFactory = _ => 128 };
        var outputLength = new Option<int>("--output-len") { DefaultValueFactory = _ => 128 };
        var requests = new Option<int>("--requests") { Description = "Requests of the static vs continuous workload", DefaultValueFactory = _ => 200 };
        var mixedSeconds = new Option<double>("--mixed-duration") { Description = "Seconds per online/offline run", DefaultValueFactory = _ => 10 };
        var hourlyCost = new Option<double?>("--gpu-hourly-cost") { Description = "Dollars per device-hour (default: the card's catalog price)" };
        var command = new Command("report", "Run the standard experiments and write a Markdown report with charts")
        {
            output, batchSizes, promptLength, outputLength, requests, mixedSeconds, hourlyCost,
        };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = model.Read(result);
            var sizes = result.GetValue(batchSizes)!;
            using var nvml = NvmlSampler.Open();
            nvml.Start(TimeSpan.FromMilliseconds(200));
            var samples = new List<GpuSample>();
            nvml.Sampled += s =>
            {
                lock (samples)
                {
                    samples.Add(s);
                }
            };

            double? NvmlBusy(DateTimeOffset from)
            {
                lock (samples)
                {
                    var window = samples.Where(s => s.At >= from).ToList();
                    return window.Count == 0 ? null : window.Average(s => s.GpuUtilizationPercent) / 100;
                }
            }

            // 1. Throughput and MBU by batch size.
            var sweep = new List<BatchSweepRow>();
            string device, modelName, ceilingsSource = "n/a (no ceilings on this device)";
            double? bandwidth = null;
            using (var host = ModelHost.Load(options with { Engine = options.Engine with { MaxRunningSequences = Math.Max(options.Engine.MaxRunningSequences, sizes.Max()) } }))
            {
                device = host.Engine.DeviceName;
                modelName = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(host.ModelPath))} ({host.Config.ParameterCount / 1e9:F2} B parameters, {host.Config.WeightDType})";
                if (host.Backend is Backends.Cuda.CudaBackend cuda)
                {
                    var ceilings = cuda.MeasureCeilings();
                    bandwidth = ceilings.CopyGBps * 1e9;
                    ceilingsSource = $"measured in this run: {ceilings}";
                }

                var p = result.GetValue(promptLength);
                var o = result.GetValue(outputLength);
                OfflineRun.Run("warm-up", host.Engine, OfflineWorkload.FixedShape(2, 8, 4, host.Config.VocabSize, 0), progress: false);
                foreach (var b in sizes)
                {
                    var from = DateTimeOffset.UtcNow;
                    var r = OfflineRun.Run($"batch {b}", host.Engine, OfflineWorkload.FixedShape(b, p, o, host.Config.VocabSize, b));
                    double? mbu = bandwidth is { } bw ? BenchCommand.DecodeFloorSeconds(host, b, p + (o / 2), bw) * r.Steps / r.Seconds : null;
                    sweep.Add(new BatchSweepRow(b, r.OutputTokensPerSecond, mbu, GpuUtilization: NvmlBusy(from)));
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {b}: {r.OutputTokensPerSecond:F1} tok/s, MBU {mbu:P0}"));
                }
            }

            // 2. Static vs continuous on a mixed-length workload.
            var batching = new List<BatchingRow>();
            foreach (var mode in new[] { BatchingMode.Static, BatchingMode.Continuous })
            {
                using var host = ModelHost.Load(model.Read(result, mode));
                var workload = OfflineWorkload.Create(host.Tokenizer, result.GetValue(requests), 8, 256, 1);
                var r = OfflineRun.Run(mode.ToString().ToLowerInvariant(), host.Engine, workload);
                batching.Add(new BatchingRow(r.Label, r.OutputTokensPerSecond, r.MeanOccupancy, r.LatencyP50(_ => true)));
            }

            // 3. Online only vs unified backfill (online at ~20 % of capacity).
            var span = TimeSpan.FromSeconds(result.GetValue(mixedSeconds));
            double? meanOutput = null;
            MixedRunResult Mixed(string label, double rate, bool offline)
            {
                using var host = ModelHost.Load(options);
                var online = MixedBenchmark.Traffic(TrafficShape.Poisson, rate, span, 1, host.Engine.MaxModelLength);
                meanOutput ??= MixedBenchmark.MeanOnlineOutput(host.Engine.MaxModelLength, 1);
                return new MixedBenchmark(host.Tokenizer, 1).Run(label, host.Engine, online, offline, span, options.Engine.MaxRunningSequences * 2);
            }

            var capacity = Mixed("offline only", 0, offline: true);
            var rate = 0.2 * capacity.TotalTokensPerSecond / meanOutput!.Value;
            var online = Mixed("online only", rate, offline: false);
            var unified = Mixed("unified (online + offline backfill)", rate, offline: true);
            var mix = new[] { online, capacity, unified }.Select(r => new TrafficMixRow(
                r.Label, r.Online.OutputTokens / r.Seconds, r.OfflineTokensPerSecond,
                r.Online.Ttft.Count == 0 ? null : Quantile.Of(r.Online.Ttft, 0.5), r.Occupancy)).ToList();

            var card = GpuCatalog.Find(device);
            var cost = result.GetValue(hourlyCost) ?? card?.HourlyCost;
            var report = new BenchReport
            {
                Model = modelName,
                Device = device,
                Date = DateTimeOffset.UtcNow,
                HourlyCost = cost,
                HourlyCostSource = result.GetValue(hourlyCost) is null ? (card is null ? "none" : $"catalog default for {card.Name}") : "--gpu-hourly-cost",
                CeilingsSource = ceilingsSource,
                BatchSweep = sweep,
                Batching = batching,
                TrafficMix = mix,
                Notes = $"NVML: {nvml.Status}. Online load {rate:F2} req/s (≈ 20 % of the measured offline capacity, {capacity.TotalTokensPerSecond:F0} output tok/s); {span.TotalSeconds:F0} s per traffic run. " +
                        "GPU utilization is NVML's share of time any kernel ran; MBU is bytes the model must move (weights once per step + KV) over the copy bandwidth measured in this run.",
            };
            var path = BenchReportWriter.Write(report, result.GetValue(output)!);
            Console.WriteLine(File.ReadAllText(path));
            Console.Error.WriteLine($"report written to {path}");
            return 0;
        });
        return command;
    }
}
