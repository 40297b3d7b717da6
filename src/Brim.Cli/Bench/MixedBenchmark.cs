using System.Diagnostics;
using Brim.Core;
using Brim.Engine;
using Brim.Engine.Scheduling;
using Brim.Server.Bench.Traffic;
using Brim.Tokenization;

namespace Brim.Cli.Bench;

/// <summary>What one traffic class got during a mixed run.</summary>
internal sealed record ClassResult(int Finished, long OutputTokens, IReadOnlyList<double> Ttft, IReadOnlyList<double> Tpot)
{
    /// <summary>Submissions the engine's bounded queue refused (the server's 429).</summary>
    public int Refused { get; init; }

    public static readonly ClassResult Empty = new(0, 0, [], []);
}

/// <summary>The measurements of one mixed run of fixed duration.</summary>
internal sealed record MixedRunResult(string Label, double Seconds, ClassResult Online, ClassResult Offline, double Occupancy, double OfflineSlotShare)
{
    public double TotalTokensPerSecond => (Online.OutputTokens + Offline.OutputTokens) / Seconds;

    public double OfflineTokensPerSecond => Offline.OutputTokens / Seconds;

    /// <summary>Every step's duration (seconds) within the run.</summary>
    public IReadOnlyList<double> StepSeconds { get; init; } = [];

    /// <summary>The engine's offline step-time budget in this run (null: no cap).</summary>
    public TimeSpan? StepBudget { get; init; }

    /// <summary>The run by phase of its online traffic (one phase for steady Poisson traffic).</summary>
    public IReadOnlyList<PhaseResult> Phases { get; init; } = [];

    /// <summary>The run in equal slices of time (tokens per class, online TPOT by finish time).</summary>
    public IReadOnlyList<TimelineBin> Timeline { get; init; } = [];

    /// <summary>Step time by kind of work, fitted from this run's step records with the engine's model (null: too few steps to fit).</summary>
    public StepCostModel? StepCost { get; init; }
}

/// <summary>
/// Online traffic from a trace (<see cref="TrafficGenerator"/>: arrival times and ShareGPT-like lengths) plus an offline
/// backlog on one engine for a fixed time. Online requests are submitted by a driver thread when the trace says, with
/// seeded random token ids of the trace's length (random ids: no prefix is shared, so prefix caching does not flatter
/// online prefill); offline requests are kept topped up so the backlog never runs dry. Tokens count when they are
/// produced inside the window, so runs of the same length compare directly; online latencies count by the phase their
/// request arrived in, offline tokens by the phase they were produced in.
/// </summary>
internal sealed class MixedBenchmark(ITokenizer tokenizer, int seed)
{
    private static readonly string[] Openings = ["Once upon a time", "The little dog", "Tom and Sue went to the park", "One day, a bird", "Lily wanted"];

    public MixedRunResult Run(string label, LlmEngine engine, TrafficTrace onlineTraffic, bool offlineBacklog, TimeSpan duration, int offlineBacklogSize)
    {
        var random = new Random(seed);
        var promptIds = new Random(seed + 1);
        var gate = new object();
        var online = new Tally();
        var offline = new Tally();
        var phases = onlineTraffic.PhaseNames.ToDictionary(p => p, _ => (Online: new Tally(), Offline: new Tally()));
        long occupancySum = 0, steps = 0, offlineSlots = 0, allSlots = 0;
        var stepSeconds = new List<double>();
        var stepCost = new StepCostModel();
        var timeline = new RunTimeline(duration.TotalSeconds);
        var started = Stopwatch.GetTimestamp();
        var end = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var running = true;
        var submitted = 0;
        var offlineLive = 0;

        void OnStep(StepRecord s)
        {
            occupancySum += s.Running;
            steps++;
            allSlots += s.Running;
            offlineSlots += s.RunningOffline;
            lock (gate)
            {
                stepSeconds.Add(s.StepSeconds);
                // The record's context tokens (Σ positions each chunk ends at) stand in for attention positions: exact for
                // decode rows, a lower bound for prefill chunks. Good enough to report; the engine fits exact shapes.
                stepCost.Observe(new StepShape(s.DecodeTokens, s.PrefillTokens, s.ContextTokens), s.StepSeconds);
            }
        }

        engine.StepCompleted += OnStep;
        engine.Start();

        double Elapsed(long timestamp) => (timestamp - started) / (double)Stopwatch.Frequency;

        void Submit(TrafficClass cls, TrafficArrival? arrival = null)
        {
            var id = Interlocked.Increment(ref submitted);
            var output = arrival?.OutputTokens ?? random.Next(64, 257);
            var request = new GenerationRequest
            {
                Id = new RequestId($"{cls}-{id}"),
                PromptTokens = arrival is { } a ? RandomPrompt(promptIds, a.PromptTokens) : tokenizer.Encode(Openings[random.Next(Openings.Length)]),
                Sampling = SamplingParams.Greedy(output) with { IgnoreEos = true },
                TrafficClass = cls,
            };
            var tally = cls == TrafficClass.Online ? online : offline;
            var submittedAt = Stopwatch.GetTimestamp();
            var arrivalPhase = phases[onlineTraffic.PhaseAt(Elapsed(submittedAt))].Online;
            long firstAt = 0;
            if (cls == TrafficClass.Offline)
            {
                Interlocked.Increment(ref offlineLive);
            }

            try
            {
                SubmitTo(engine, request, u =>
            {
                var now = Stopwatch.GetTimestamp();
                lock (gate)
                {
                    if (now <= end && running)
                    {
                        tally.Tokens += u.NewTokens.Count;
                        timeline.AddTokens(Elapsed(now), cls == TrafficClass.Online, u.NewTokens.Count);
                        var phase = phases[onlineTraffic.PhaseAt(Elapsed(now))];
                        (cls == TrafficClass.Online ? phase.Online : phase.Offline).Tokens += u.NewTokens.Count;
                    }

                    if (firstAt == 0 && u.NewTokens.Count > 0)
                    {
                        firstAt = now;
                        if (now <= end)
                        {
                            tally.Ttft.Add((now - submittedAt) / (double)Stopwatch.Frequency);
                            if (cls == TrafficClass.Online)
                            {
                                arrivalPhase.Ttft.Add(tally.Ttft[^1]); // the phase table is online's: offline waits by design
                            }
                        }
                    }

                    if (u.IsFinal && now <= end && u.FinishReason != FinishReason.Cancelled)
                    {
                        tally.Finished++;
                        if (u.CompletionTokenCount > 1)
                        {
                            tally.Tpot.Add((now - firstAt) / (double)Stopwatch.Frequency / (u.CompletionTokenCount - 1));
                            if (cls == TrafficClass.Online)
                            {
                                arrivalPhase.Tpot.Add(tally.Tpot[^1]);
                                timeline.AddOnlineTpot(Elapsed(now), tally.Tpot[^1]);
                            }
                        }
                    }
                }

                if (u.IsFinal && cls == TrafficClass.Offline)
                {
                    Interlocked.Decrement(ref offlineLive);
                }
            });
            }
            catch (EngineOverloadedException)
            {
                // The bounded waiting queue refused it, as the server's 429 would: count it, never queue unboundedly.
                lock (gate)
                {
                    tally.Refused++;
                }

                if (cls == TrafficClass.Offline)
                {
                    Interlocked.Decrement(ref offlineLive);
                }
            }
        }

        var next = 0;
        while (Stopwatch.GetTimestamp() < end)
        {
            var now = Stopwatch.GetTimestamp();
            if (next < onlineTraffic.Arrivals.Count && Elapsed(now) >= onlineTraffic.Arrivals[next].AtSeconds)
            {
                Submit(TrafficClass.Online, onlineTraffic.Arrivals[next++]);
                continue;
            }

            while (offlineBacklog && Volatile.Read(ref offlineLive) < offlineBacklogSize)
            {
                Submit(TrafficClass.Offline);
            }

            Thread.Sleep(1);
        }

        lock (gate)
        {
            running = false;
        }

        engine.StepCompleted -= OnStep;
        var seconds = duration.TotalSeconds;
        var occupancy = steps == 0 ? 0 : (double)occupancySum / steps / engine.Options.MaxRunningSequences;
        var share = allSlots == 0 ? 0 : (double)offlineSlots / allSlots;
        lock (gate)
        {
            return new MixedRunResult(label, seconds, online.ToResult(), offline.ToResult(), occupancy, share)
            {
                StepSeconds = [.. stepSeconds],
                Timeline = timeline.ToBins(),
                StepBudget = engine.Options.EffectiveStepTimeBudget,
                StepCost = stepCost.IsFitted ? stepCost : null,
                Phases = [.. phases.Select(p => new PhaseResult(
                    p.Key, Math.Min(onlineTraffic.SecondsIn(p.Key), seconds), p.Value.Online.ToResult(), p.Value.Offline.Tokens))],
            };
        }
    }

    private static void SubmitTo(LlmEngine engine, GenerationRequest request, Action<GenerationUpdate> observer) => engine.Submit(request, observer);

    /// <summary>A trace without online requests (offline-only runs, the warm-up).</summary>
    public static TrafficTrace NoOnline(TimeSpan span) => new([], [new TrafficPhase(TrafficGenerator.Steady, 0, span.TotalSeconds)]);

    /// <summary>Online traffic of <paramref name="shape"/> for a run of <paramref name="span"/>; none at a rate of 0.</summary>
    public static TrafficTrace Traffic(TrafficShape shape, double rate, TimeSpan span, int seed, int maxModelLength) =>
        rate > 0
            ? TrafficGenerator.Generate(new TrafficOptions { Shape = shape, Rate = rate, Seconds = span.TotalSeconds, Seed = seed, MaxModelLength = maxModelLength })
            : NoOnline(span);

    /// <summary>The mean online output the rates are scaled by: ShareGPT-like lengths clipped to this model's context.</summary>
    public static double MeanOnlineOutput(int maxModelLength, int seed)
    {
        var lengths = new ShareGptLengths(new Random(seed), maxModelLength);
        return Enumerable.Range(0, 4000).Average(_ => lengths.Next().Output);
    }

    /// <summary>Seeded random ids (above the ids small vocabularies reserve for unk/bos/eos), BOS first where the model has one.</summary>
    private int[] RandomPrompt(Random random, int length)
    {
        var prompt = new int[length];
        for (var i = 0; i < length; i++)
        {
            prompt[i] = random.Next(3, tokenizer.VocabSize);
        }

        if (tokenizer.BosTokenId is { } bos)
        {
            prompt[0] = bos;
        }

        return prompt;
    }

    private sealed class Tally
    {
        public int Finished { get; set; }

        public long Tokens { get; set; }

        public int Refused { get; set; }

        public List<double> Ttft { get; } = [];

        public List<double> Tpot { get; } = [];

        public ClassResult ToResult() => new(Finished, Tokens, [.. Ttft], [.. Tpot]) { Refused = Refused };
    }
}
