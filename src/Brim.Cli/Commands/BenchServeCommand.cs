using System.CommandLine;
using System.Globalization;
using Brim.Engine;
using Brim.Server;
using Brim.Server.Bench;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench serve`: a load generator for the HTTP server (Poisson arrivals or a fixed concurrency, synthetic
/// prompt and output lengths, streaming), against its own in-process server or a loopback URL; with --compare,
/// the serving-overhead check: 64 streaming clients through the server against the engine alone, same run.
/// </summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var url = new Option<Uri?>("--url")
        {
            Description = "A running server (loopback only), e.g. http://127.0.0.1:8000/; default: start one in-process", CustomParser = OptionValues.LoopbackHttpUrl,
        };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key for --url" };
        var model = new Option<string?>("--model", "-m") { Description = "Model for the in-process server; default: the bundled stories260K" };
        var device = EnumOption.Create<DeviceKind>("--device", "auto, cpu or cuda (in-process server)");
        var threads = new Option<int?>("--threads") { Description = "CPU backend threads (default: all cores)" };
        var kvBlocks = new Option<int?>("--num-kv-blocks") { Description = "KV cache blocks of the in-process server", DefaultValueFactory = _ => 4096 };
        var maxSeqs = new Option<int>("--max-num-seqs") { Description = "Batch slots of the in-process server", DefaultValueFactory = _ => 64 };
        var swapSpace = new Option<long?>("--swap-space") { Description = "GiB of host swap space of the in-process server (0: always recompute); default: the backend's", CustomParser = r => OptionValues.SwapSpaceBytes(r) };
        var requests = new Option<int>("--num-prompts", "-n") { Description = "Requests to send", DefaultValueFactory = _ => 256 };
        var rate = new Option<double>("--request-rate") { Description = "Poisson arrival rate, requests/s (inf: all at once)", DefaultValueFactory = _ => double.PositiveInfinity };
        var concurrency = new Option<int>("--max-concurrency") { Description = "Most requests in flight", DefaultValueFactory = _ => 64 };
        var inputLen = new Option<int>("--input-len") { Description = "Mean prompt length in tokens", DefaultValueFactory = _ => 64 };
        var outputLen = new Option<int>("--output-len") { Description = "Mean output length in tokens", DefaultValueFactory = _ => 128 };
        var range = new Option<double>("--range-ratio") { Description = "Lengths are uniform in mean·(1±ratio)", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the workload and the arrivals", DefaultValueFactory = _ => 0 };
        var compare = new Option<bool>("--compare") { Description = "Serving overhead: --max-concurrency streaming clients through the server vs the engine alone (target ratio ≥ 0.80)" };
        var rounds = new Option<int>("--rounds") { Description = "Alternating engine/server rounds of --compare (the median ratio is reported)", DefaultValueFactory = _ => 3 };
        var speculative = new Option<Brim.Engine.Speculative.SpeculativeConfig?>("--speculative-config")
        {
            Description = "Speculative decoding of the in-process server (vLLM's JSON); then every rate runs twice, requests opting out and in, same server and run",
            CustomParser = r => OptionValues.SpeculativeConfig(r),
        };
        var rates = new Option<double[]?>("--request-rates")
        {
            Description = "Rising Poisson rates to run one after another, e.g. 1,4,16,inf (instead of --request-rate)", CustomParser = OptionValues.RequestRates,
        };

        var command = new Command("serve", "Load-test the OpenAI server: TTFT, ITL, TPOT, E2E p50/p90/p99 and output tokens/s")
        {
            url, apiKey, model, device, threads, kvBlocks, maxSeqs, swapSpace, requests, rate, concurrency, inputLen, outputLen, range, seed, compare, rounds,
            speculative, rates,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var workload = new BenchWorkloadOptions
            {
                Requests = result.GetValue(requests),
                InputLength = result.GetValue(inputLen),
                OutputLength = result.GetValue(outputLen),
                RangeRatio = result.GetValue(range),
                Seed = result.GetValue(seed),
            };
            var load = new LoadOptions { RequestRate = result.GetValue(rate), MaxConcurrency = result.GetValue(concurrency), Seed = result.GetValue(seed) };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"workload: {workload.Requests} requests, input {workload.InputLength}, output {workload.OutputLength} tokens (±{workload.RangeRatio:P0}), rate {load.RequestRate}/s, concurrency ≤ {load.MaxConcurrency}"));

            if (result.GetValue(url) is { } target)
            {
                return await AgainstUrlAsync(target, result.GetValue(apiKey), workload, load, cancellationToken);
            }

            using var host = ModelHost.Load(new ModelHostOptions
            {
                ModelPath = result.GetValue(model),
                Device = result.GetValue(device),
                CpuThreads = result.GetValue(threads),
                Engine = new EngineOptions
                {
                    NumKvBlocks = result.GetValue(kvBlocks),
                    MaxRunningSequences = result.GetValue(maxSeqs),
                    MaxWaitingRequests = Math.Max(4096, workload.Requests),
                    SwapSpaceBytes = result.GetValue(swapSpace),
                    Speculative = result.GetValue(speculative),
                },
                Progress = Terminal.LoadProgressLine.ForStderr(),
            });
            Console.WriteLine($"model: {host.ServedModelName} on {host.DeviceNote}; {Environment.ProcessorCount} CPU cores");

            if (result.GetValue(compare))
            {
                var comparison = new OverheadComparison(host, workload) { Concurrency = load.MaxConcurrency, Rounds = result.GetValue(rounds) };
                var outcome = await comparison.RunAsync(Console.Write, cancellationToken);
                var ratio = outcome.Ratio;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"server/engine output tokens/s: {ratio:F3} (median of {outcome.Server.Count} rounds; target ≥ 0.80) {(ratio >= 0.8 ? "PASS" : "FAIL")}"));
                return ratio >= 0.8 ? 0 : 1;
            }

            await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning });
            await server.StartAsync(cancellationToken);
            var rateList = result.GetValue(rates) ?? [load.RequestRate];
            var failed = 0;
            foreach (var r in rateList)
            {
                var atRate = load with { RequestRate = r };
                if (host.Engine.Options.Speculative is null)
                {
                    failed |= await AgainstUrlAsync(server.BaseAddress, null, workload, atRate, cancellationToken, host);
                    continue;
                }

                // The same server, workload and arrivals: requests opting out of speculation, then in.
                var summaries = new List<BenchSummary>();
                foreach (var on in new[] { false, true })
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rate {r}/s, speculation {(on ? "on" : "off")}:"));
                    var summary = await RunAsync(server.BaseAddress, null, workload, atRate, cancellationToken, host, on);
                    summaries.Add(summary);
                    failed |= summary.Failed == 0 ? 0 : 1;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rate {r}/s: speculation on / off: output tok/s {summaries[1].OutputTokensPerSecond / summaries[0].OutputTokensPerSecond:F2}x, TPOT p50 {summaries[1].TimePerOutputToken.P50 * 1e3:F2} vs {summaries[0].TimePerOutputToken.P50 * 1e3:F2} ms, p99 {summaries[1].TimePerOutputToken.P99 * 1e3:F2} vs {summaries[0].TimePerOutputToken.P99 * 1e3:F2} ms"));
                if (host.Engine.Speculation is { } spec)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  since start: {spec.DraftTokens} draft tokens, acceptance {spec.AcceptanceRate:P0}, mean accepted length {spec.MeanAcceptedLength:F2}, policy-off steps {spec.StepsOff}"));
                }
            }

            return failed;
        });
        return command;
    }

    private static async Task<int> AgainstUrlAsync(Uri url, string? apiKey, BenchWorkloadOptions workload, LoadOptions load, CancellationToken cancellationToken, ModelHost? host = null)
    {
        var summary = await RunAsync(url, apiKey, workload, load, cancellationToken, host, speculative: null);
        return summary.Failed == 0 ? 0 : 1;
    }

    private static async Task<BenchSummary> RunAsync(
        Uri url, string? apiKey, BenchWorkloadOptions workload, LoadOptions load, CancellationToken cancellationToken, ModelHost? host, bool? speculative)
    {
        using var target = new HttpStreamingTarget(url, model: null, apiKey) { SpeculativeDecoding = speculative };
        // Over a URL the vocabulary is unknown: ids below 256 exist in every vocabulary this project loads.
        var requests = BenchWorkload.Create(workload, host?.Tokenizer.VocabSize ?? 256, host?.Tokenizer.BosTokenId, host?.Engine.MaxModelLength ?? 2048);
        await LoadGenerator.RunAsync(target, requests.Take(Math.Min(16, requests.Count)).ToList(), load, cancellationToken); // warm-up
        var summary = BenchSummary.Of(await LoadGenerator.RunAsync(target, requests, load, cancellationToken));
        Console.Write(summary.Format());
        return summary;
    }
}
