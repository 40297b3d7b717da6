using System.CommandLine;
using System.Globalization;
using Brim.Cli.Bench;
using Brim.Core;
using Brim.Engine;
using Brim.Engine.Speculative;
using Brim.Models;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim bench spec`: speculative decoding off, always on and adaptive, at fixed batch sizes on one model in one run:
/// output tokens/s, tokens per sequence per target forward pass, draft acceptance and wall-clock speedup over off. The
/// prompts are real text (story openings) and the output greedy, so a model with trained weights repeats itself as it
/// does in use; random weights accept nothing, so <c>--load-format dummy</c> is refused.
/// </summary>
internal static class BenchSpecCommand
{
    private static readonly string[] Openings =
    [
        "Once upon a time", "The cat sat on the mat. The cat", "Tom and Sue went to the park", "One day, a little bird",
        "Lily had a big red ball", "The sun was shining and the birds were singing",
    ];

    public static Command Create()
    {
        var model = new ModelOptions();
        var batchSizes = new Option<int[]>("--batch-sizes")
        {
            Description = "Batch sizes to measure (comma-separated)", DefaultValueFactory = _ => [1, 8, 64], CustomParser = OptionValues.BatchSizes,
        };
        var outputLength = new Option<int>("--output-len") { Description = "Output tokens per request (EOS ignored)", DefaultValueFactory = _ => 128, CustomParser = OptionValues.AtLeastOne };
        var repeats = new Option<int>("--repeats") { Description = "Runs per batch size and mode; the median is reported", DefaultValueFactory = _ => 3, CustomParser = OptionValues.AtLeastOne };
        var draftModel = new Option<string?>("--draft-model")
        {
            Description = "Also run a draft-model arm (always and adaptive) with this model as the draft, k as the configured method's (e.g. the bundled model as its own draft: models/stories260K)",
        };
        var draftLayers = new Option<int?>("--draft-layers")
        {
            Description = "Run only the first N layers of --draft-model (a truncated copy as the draft)", CustomParser = r => OptionValues.AtLeastOne(r),
        };
        var command = new Command("spec", "Speculative decoding off vs always vs adaptive at fixed batch sizes (default config: ngram, k 4, lookup 4..2)")
        {
            batchSizes, outputLength, repeats, draftModel, draftLayers,
        };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = model.Read(result);
            if (options.LoadFormat == LoadFormat.Dummy)
            {
                Console.Error.WriteLine("brim: bench spec needs trained weights: random weights accept no draft, so any speedup would be meaningless");
                return 2;
            }

            var config = options.Engine.Speculative ?? new SpeculativeConfig();
            var sizes = result.GetValue(batchSizes)!;
            var o = result.GetValue(outputLength);
            var modes = Modes(config, result.GetValue(draftModel), result.GetValue(draftLayers));
            var rows = new List<(int Batch, string Mode, OfflineRunResult Run, double TokensPerForward, SpeculationSnapshot? Spec)>();

            // One engine per mode, all loaded at once, and the runs interleaved (off, always, adaptive, off, …) so that
            // the JIT tiering up and the machine's own drift favour no mode.
            // Each mode's engine (and draft model) takes an equal share of the memory budget: on one GPU the first engine would
            // otherwise size its KV cache over all of it and leave the others none.
            var shares = MemoryShare.Split(modes.Length, null);
            var hosts = modes.Select((m, i) => ModelHost.Load(options with
            {
                MemoryShare = shares[i],
                Engine = options.Engine with { Speculative = m.Config, MaxRunningSequences = Math.Max(options.Engine.MaxRunningSequences, sizes.Max()) },
            })).ToList();
            try
            {
                // Warm-up: the JIT, and the step cost model the adaptive policy prices rows with (as a server's would be).
                for (var round = 0; round < 2; round++)
                {
                    foreach (var b in sizes)
                    {
                        foreach (var host in hosts)
                        {
                            OfflineRun.Run("warm-up", host.Engine, Workload(host, b, o, $"w{round}b{b}"), progress: false);
                        }
                    }
                }

                foreach (var b in sizes)
                {
                    var runs = modes.Select(_ => new List<(OfflineRunResult Run, double TokensPerForward, SpeculationSnapshot? Spec)>()).ToArray();
                    for (var r = 0; r < result.GetValue(repeats); r++)
                    {
                        for (var m = 0; m < modes.Length; m++)
                        {
                            var engine = hosts[m].Engine;
                            var method = modes[m].Config?.Method ?? config.Method;
                            var before = engine.Speculation?.Snapshot(method);
                            long sequenceForwards = 0;
                            void Count(StepRecord s) => sequenceForwards += s.Sequences;
                            engine.StepCompleted += Count;
                            var run = OfflineRun.Run($"{modes[m].Label} b{b}", engine, Workload(hosts[m], b, o, $"b{b}r{r}"), progress: false);
                            engine.StepCompleted -= Count;
                            runs[m].Add((run, (double)run.OutputTokens / sequenceForwards, Delta(engine.Speculation?.Snapshot(method), before)));
                        }
                    }

                    for (var m = 0; m < modes.Length; m++)
                    {
                        var median = runs[m].OrderBy(x => x.Run.Seconds).ElementAt(runs[m].Count / 2);
                        rows.Add((b, modes[m].Label, median.Run, median.TokensPerForward, median.Spec));
                    }
                }
            }
            finally
            {
                foreach (var host in hosts)
                {
                    host.Dispose();
                }
            }

            var (device, modelName) = (hosts[0].DeviceNote, hosts[0].ModelPath);

            Console.WriteLine($"model: {modelName}  device: {device}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"workload: story openings, greedy, {o} output tokens each (EOS ignored), all at t=0; median of {result.GetValue(repeats)} runs after a warm-up; speculation: {config.Method}, k {config.NumSpeculativeTokens}, lookup {config.PromptLookupMax}..{config.PromptLookupMin}"));
            if (result.GetValue(draftModel) is { } draftPath)
            {
                var layers = result.GetValue(draftLayers) is { } n ? string.Create(CultureInfo.InvariantCulture, $", its first {n} layers only (a truncated copy)") : string.Empty;
                var itself = result.GetValue(draftLayers) is null && SameCheckpoint(HuggingFaceCache.Resolve(draftPath), options.ModelPath is { } m ? HuggingFaceCache.Resolve(m) : ModelHostOptions.BundledModelPath())
                    ? " = the target itself: every greedy draft token is accepted and each costs a target pass, an upper bound on acceptance rather than a realistic draft"
                    : string.Empty;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"draft arm: draft_model {draftPath}{layers}{itself} (its own backend and KV cache on the target's device), k {config.NumSpeculativeTokens}; each mode's engine takes 1/{modes.Length} of the memory budget"));
            }
            Console.WriteLine();
            Console.WriteLine("| batch | speculation | output tok/s | seconds | steps | tokens / sequence / forward | acceptance | mean accepted length | policy-off steps | speedup vs off |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows.OrderBy(x => x.Batch))
            {
                var off = rows.Single(x => x.Batch == r.Batch && x.Mode == "off").Run;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Batch} | {r.Mode} | {r.Run.OutputTokensPerSecond:F0} | {r.Run.Seconds:F2} | {r.Run.Steps} | {r.TokensPerForward:F2} | {Share(r.Spec?.AcceptanceRate)} | {Number(r.Spec?.MeanAcceptedLength)} | {r.Spec?.StepsOff.ToString(CultureInfo.InvariantCulture) ?? "-"} | {r.Run.OutputTokensPerSecond / off.OutputTokensPerSecond:F2}x |"));
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// Off, then the configured method always and adaptive, then, with <paramref name="draftModel"/>, a draft-model arm
    /// (always, adaptive) with the configured k.
    /// </summary>
    private static (string Label, SpeculativeConfig? Config)[] Modes(SpeculativeConfig config, string? draftModel, int? draftLayers)
    {
        List<(string Label, SpeculativeConfig? Config)> modes =
        [
            ("off", null), ("always", config with { Mode = SpeculationMode.Always }), ("adaptive", config with { Mode = SpeculationMode.Adaptive }),
        ];
        if (draftModel is not null)
        {
            var draft = new SpeculativeConfig
            {
                Method = SpeculativeConfig.DraftModel, Model = draftModel, NumSpeculativeTokens = config.NumSpeculativeTokens, DraftLayers = draftLayers,
            };
            modes.Add(("draft always", draft with { Mode = SpeculationMode.Always }));
            modes.Add(("draft adaptive", draft with { Mode = SpeculationMode.Adaptive }));
        }

        return [.. modes];
    }

    /// <summary>Whether two model paths hold the same checkpoint: one path, or directories of the same files by name and size (copies).</summary>
    private static bool SameCheckpoint(string a, string b)
    {
        (a, b) = (Path.GetFullPath(a), Path.GetFullPath(b));
        if (a == b || !Directory.Exists(a) || !Directory.Exists(b))
        {
            return a == b;
        }

        static string Files(string dir) => string.Join('|', new DirectoryInfo(dir).GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => $"{f.Name}:{f.Length}"));
        return Files(a) == Files(b);
    }

    /// <summary><paramref name="batch"/> greedy requests on story openings (distinct ones: no prefix-cache effect beyond a block).</summary>
    private static List<GenerationRequest> Workload(ModelHost host, int batch, int output, string tag) =>
        Enumerable.Range(0, batch).Select(i => new GenerationRequest
        {
            Id = new RequestId($"spec-{tag}-{i}"),
            PromptTokens = host.Tokenizer.Encode(Openings[i % Openings.Length] + new string('!', i / Openings.Length % 8)),
            Sampling = SamplingParams.Greedy(output) with { IgnoreEos = true },
        }).ToList();

    private static SpeculationSnapshot? Delta(SpeculationSnapshot? after, SpeculationSnapshot? before) => after is null || before is null
        ? null
        : after with
        {
            Drafts = after.Drafts - before.Drafts,
            DraftTokens = after.DraftTokens - before.DraftTokens,
            AcceptedTokens = after.AcceptedTokens - before.AcceptedTokens,
            StepsOff = after.StepsOff - before.StepsOff,
            DraftSeconds = after.DraftSeconds - before.DraftSeconds,
        };

    private static string Share(double? v) => v is { } x ? x.ToString("P0", CultureInfo.InvariantCulture) : "-";

    private static string Number(double? v) => v is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "-";
}
