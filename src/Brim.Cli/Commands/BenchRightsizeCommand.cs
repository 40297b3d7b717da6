using System.CommandLine;
using System.Globalization;
using Brim.Models;
using Brim.Server;
using Brim.Server.Bench.RightSizing;
using Brim.Server.Hosting;
using Brim.Server.Routing;
using Microsoft.Extensions.Logging;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench rightsize`: one server of a small and a large model, and the same workload sent three times — to the
/// large model only, to the small model only, and to the router ("auto": a prompt-length rule sends the long prompts to
/// the large model, the rest go small first and escalate when the small model is unsure) — reporting output tokens/s,
/// device-seconds (measured) and cost per 1M output tokens, and the share escalated, as Markdown with an SVG chart.
/// </summary>
internal static class BenchRightsizeCommand
{
    private const string SmallName = "small";
    private const string LargeName = "large";
    private const string DefaultLarge = "bench/configs/stories-1m";

    public static Command Create()
    {
        var model = new ModelOptions();
        var large = new Option<string?>("--large") { Description = $"The large model (a directory, checkpoint or org/name); default: {DefaultLarge} with seeded random weights" };
        var largeFormat = EnumOption.CreateOptional("--large-load-format", "The large model's load format [default: dummy for the default large model, else auto]", LoadFormat.Auto);
        var largeTokenizer = new Option<string?>("--large-tokenizer") { Description = "The large model's tokenizer when it has none (default for a dummy large model: the small model's)" };
        var requests = new Option<int>("--requests") { Description = "Requests per run", DefaultValueFactory = _ => 64, CustomParser = OptionValues.AtLeastOne };
        var longShare = new Option<double>("--long-share") { Description = "Share of requests with a long prompt, which the rule sends to the large model", DefaultValueFactory = _ => 0.25 };
        var outputLength = new Option<int>("--output-len") { Description = "max_tokens of each request", DefaultValueFactory = _ => 64, CustomParser = OptionValues.AtLeastOne };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once", DefaultValueFactory = _ => 16, CustomParser = OptionValues.AtLeastOne };
        var noCascade = new Option<bool>("--no-cascade")
        {
            Description = "Route by the prompt-length rule alone, the rest to the small model (the cascade collects its small answers' logprobs, which the device sampler does not compute: on a large vocabulary that costs host sampling)",
        };
        var threshold = new Option<double>("--threshold") { Description = "The cascade's bar: answers whose mean token logprob is below it escalate", DefaultValueFactory = _ => -1.5 };
        var hourlyCost = new Option<double?>("--gpu-hourly-cost") { Description = "Dollars per device-hour (default: the card's catalog price; none on the CPU)" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Report directory", DefaultValueFactory = _ => "brim-rightsize" };
        var smallFirst = new Option<bool>("--small-first")
        {
            Description = "On a GPU, put the small model's work on a high-priority stream (serve's --model-gpu-priority high): its kernels go first when both models have work",
        };
        var command = new Command("rightsize", "The same workload through the large model only, the small model only and the router (auto): tokens/s, device time and cost per 1M tokens, share escalated")
        {
            large, largeFormat, largeTokenizer, requests, longShare, outputLength, concurrency, noCascade, threshold, hourlyCost, seed, output, smallFirst,
        };
        model.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var share = result.GetValue(longShare);
            if (share is < 0 or > 1 || result.GetValue(threshold) > 0)
            {
                await Console.Error.WriteLineAsync("brim: --long-share must be in [0, 1] and --threshold a log-probability (≤ 0)");
                return 2;
            }

            var read = model.Read(result);
            if (result.GetValue(smallFirst) && read.Device == DeviceKind.Cpu)
            {
                await Console.Error.WriteLineAsync("brim: --small-first orders the two models' work on a shared GPU; with --device cpu each engine has its own cores");
                return 2;
            }

            // On the CPU each engine gets its own half of the cores (unless --threads says otherwise): two engines each
            // spinning on every core slow each other's steps, and each would be charged the other's time.
            var smallOptions = read with
            {
                ServedModelName = SmallName,
                MemoryShare = new MemoryShare(0, 0.5),
                CpuThreads = read.CpuThreads ?? Math.Max(1, Environment.ProcessorCount / 2),
                GpuPriority = result.GetValue(smallFirst) ? GpuPriority.High : GpuPriority.Normal,
            };
            var largePath = result.GetValue(large) ?? FindDefaultLarge();
            var format = result.GetValue(largeFormat) ?? (result.GetValue(large) is null ? LoadFormat.Dummy : LoadFormat.Auto);
            var largeOptions = smallOptions with
            {
                ModelPath = largePath,
                ServedModelName = LargeName,
                LoadFormat = format,
                TokenizerPath = result.GetValue(largeTokenizer) ?? (format == LoadFormat.Dummy && !SmallCountsTokens(read) ? smallOptions.ModelPath ?? ModelHostOptions.BundledModelPath() : null),
                MemoryShare = new MemoryShare(0.5, 0.5),
                GpuPriority = GpuPriority.Normal,
            };

            // Long prompts are 12 sentences (~180 tokens), short ones a few words: the rule's bar sits between them.
            var cascade = !result.GetValue(noCascade);
            var router = new RouterConfig
            {
                Rules = [new RoutingRule { Name = "long-prompts", Model = LargeName, MinPromptTokens = 64 }],
                Cascade = cascade ? new CascadeConfig { Small = SmallName, Large = LargeName, Threshold = result.GetValue(threshold) } : null,
                Default = cascade ? null : SmallName,
            };
            using var smallHost = ModelHost.Load(smallOptions);
            using var largeHost = ModelHost.Load(largeOptions);
            await using var server = BrimServer.Create([smallHost, largeHost], new ServerOptions
            {
                Port = 0, MinimumLogLevel = LogLevel.Warning, GpuHourlyCost = result.GetValue(hourlyCost), Router = router,
            });
            await server.StartAsync(cancellationToken);
            using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
            var workload = RightSizeWorkload.Create(result.GetValue(requests), share, longSentences: 12, result.GetValue(seed));
            var bench = new RightSizeBenchmark(http, result.GetValue(outputLength), result.GetValue(concurrency));

            await bench.RunAsync("warm-up", router.Alias, workload.Take(4).ToList(), cancellationToken);
            var results = new List<RightSizeResult>();
            foreach (var (label, target) in new[] { ("large only", LargeName), ("small only", SmallName), ("auto (router)", router.Alias) })
            {
                var r = await bench.RunAsync(label, target, workload, cancellationToken);
                results.Add(r);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: {r.OutputTokensPerSecond:F1} output tok/s, {r.DeviceSeconds:F2} engine step s, {r.WallSeconds:F2} held s, {r.HeldSecondsPerMillion:F0} held s per 1M tokens"));
            }

            // Both models flooded at once, each with the whole workload: what each keeps of its own throughput when the
            // other shares the device (its alone figure is the arm above).
            var together = await Task.WhenAll(
                bench.RunAsync("large beside small", LargeName, workload, cancellationToken),
                bench.RunAsync("small beside large", SmallName, workload, cancellationToken));
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"together: large {together[0].OutputTokensPerSecond:F1} output tok/s, small {together[1].OutputTokensPerSecond:F1}"));

            var hourly = result.GetValue(hourlyCost) ?? Telemetry.Devices.GpuCatalog.Find(smallHost.Engine.DeviceName)?.HourlyCost;
            var report = new RightSizeReport
            {
                Small = SmallName,
                Large = LargeName,
                SmallDescription = Describe(smallHost),
                LargeDescription = Describe(largeHost),
                Device = smallHost.Engine.DeviceName,
                Date = DateTimeOffset.UtcNow,
                HourlyCost = hourly,
                Workload = string.Create(CultureInfo.InvariantCulture,
                    $"{workload.Count} completions, {workload.Count(w => w.Long)} with a long prompt (~180 tokens; the rule 'long-prompts' ≥ 64 prompt tokens sends them large), the rest short; "
                    + $"max_tokens {result.GetValue(outputLength)}, temperature 1 with a seed per request, {result.GetValue(concurrency)} in flight; ")
                    + (router.Cascade is { } c
                        ? string.Create(CultureInfo.InvariantCulture, $"cascade small → large below a mean token logprob of {c.Threshold}")
                        : "no cascade: the rest go to the small model"),
                Results = results,
                SideBySide = new SideBySide(results[0].OutputTokensPerSecond, results[1].OutputTokensPerSecond, together[0].OutputTokensPerSecond, together[1].OutputTokensPerSecond),
            };
            var path = report.Write(result.GetValue(output)!);
            Console.WriteLine(File.ReadAllText(path));
            await Console.Error.WriteLineAsync($"report written to {path}");
            return 0;
        });
        return command;
    }

    private static string Describe(ModelHost host) =>
        string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(host.ModelPath))}, {host.Config.ParameterCount / 1e6:0.00} M parameters");

    /// <summary>A dummy small model without tokenizer files numbers its tokens; a dummy large model then does the same.</summary>
    private static bool SmallCountsTokens(ModelHostOptions small) => small.LoadFormat == LoadFormat.Dummy && small.TokenizerPath is null;

    /// <summary>bench/configs/stories-1m above the executable or the working directory (a clone; the tool package has no bench/).</summary>
    private static string FindDefaultLarge()
    {
        foreach (var root in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = root; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var candidate = Path.Combine(dir, DefaultLarge);
                if (File.Exists(Path.Combine(candidate, "config.json")))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"the default large model {DefaultLarge} was not found above the working directory; pass --large");
    }
}
