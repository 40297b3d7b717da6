using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// Plays online arrivals and an offline backlog through a real <see cref="Scheduler"/> on a manual clock, each step
/// taking the time a synthetic cost function gives its shape, and the scheduler learning that cost from its own steps as
/// the engine does. What online users would feel (TTFT, TPOT) and what offline got come out in simulated seconds.
/// </summary>
internal sealed class BackfillSimulation(EngineOptions options, Func<StepShape, double> stepSeconds)
{
    /// <summary>Online request shape and offline backlog shape (prompt, output tokens).</summary>
    public (int Prompt, int Output) OnlineRequest { get; init; } = (100, 64);

    public (int Prompt, int Output) OfflineRequest { get; init; } = (200, 128);

    /// <summary>Offline sequences kept queued or running (0: online only).</summary>
    public int OfflineBacklog { get; init; }

    public SimulationResult Run(IReadOnlyList<double> onlineArrivals, double seconds)
    {
        var clock = new ManualClock();
        var start = clock.GetTimestamp();
        double Now() => clock.GetElapsedTime(start).TotalSeconds;
        var scheduler = new Scheduler(options, new BlockManager(options.NumKvBlocks!.Value, options.BlockSize, 0), clock);
        var sequences = new TestSequences();
        var result = new SimulationResult(scheduler.Policy.ReservedOfflineSlots);
        var arrivedAt = new Dictionary<Sequence, double>();
        var firstTokenAt = new Dictionary<Sequence, double>();
        var offlineLive = 0;
        var next = 0;
        while (Now() < seconds)
        {
            for (; next < onlineArrivals.Count && onlineArrivals[next] <= Now(); next++)
            {
                var online = sequences.New(TrafficClass.Online, OnlineRequest.Prompt, OnlineRequest.Output);
                arrivedAt[online] = onlineArrivals[next];
                scheduler.Add(online);
            }

            for (; offlineLive < OfflineBacklog; offlineLive++)
            {
                scheduler.Add(sequences.New(TrafficClass.Offline, OfflineRequest.Prompt, OfflineRequest.Output));
            }

            var plan = scheduler.Schedule();
            if (plan.IsEmpty)
            {
                var idle = next < onlineArrivals.Count ? onlineArrivals[next] - Now() : seconds - Now();
                clock.Advance(TimeSpan.FromSeconds(Math.Max(idle, 1e-6)));
                continue;
            }

            var model = scheduler.Policy.Cap.Model;
            var fitted = model.IsFitted;
            var predicted = model.PredictSeconds(plan.Shape);
            var tpotBudget = scheduler.Policy.Cap.Tpot.Seconds;
            var onlineShape = default(StepShape);
            var reserveSlack = 0.0;
            foreach (var c in plan.Chunks)
            {
                var decode = c.TokenCount == 1 && c.Sequence.ComputedTokens > 0;
                if (c.Sequence.TrafficClass == TrafficClass.Online)
                {
                    onlineShape += StepShape.Chunk(c.Sequence.ComputedTokens, c.TokenCount, decode);
                }
                else
                {
                    // The reserve's one token a sequence goes in whatever the budget: the most one such token adds.
                    reserveSlack = Math.Max(reserveSlack, result.ReservedOfflineSlots * model.MarginalSeconds(StepShape.Chunk(c.Sequence.ComputedTokens, 1, decode: c.Sequence.ComputedTokens > 0)));
                }
            }

            var took = stepSeconds(plan.Shape);
            clock.Advance(TimeSpan.FromSeconds(took));
            scheduler.ObserveStep(took);
            var step = new SimulatedStep(
                took, fitted ? predicted : null,
                plan.Chunks.Any(c => c.Sequence.TrafficClass == TrafficClass.Online && c.TokenCount == 1 && c.Sequence.ComputedTokens > 0),
                plan.Chunks.Count(c => c.Sequence.TrafficClass == TrafficClass.Offline),
                scheduler.RunningOf(TrafficClass.Offline), scheduler.Running.Count)
            {
                TpotBudget = tpotBudget,
                PredictedOnline = model.PredictSeconds(onlineShape),
                ReserveSlack = reserveSlack,
            };
            result.Steps.Add(step);

            var sampling = plan.Chunks.Where(c => c.SamplesNextToken).Select(c => c.Sequence).ToList();
            var finished = SchedulerSimulator.Advance(scheduler, plan);
            foreach (var seq in sampling)
            {
                if (seq.TrafficClass == TrafficClass.Offline)
                {
                    result.OfflineTokens++;
                }
                else if (firstTokenAt.TryAdd(seq, Now()))
                {
                    result.OnlineTtft.Add(Now() - arrivedAt[seq]);
                }
            }

            foreach (var seq in finished)
            {
                if (seq.TrafficClass == TrafficClass.Offline)
                {
                    offlineLive--;
                }
                else
                {
                    result.OnlineTpot.Add((Now() - firstTokenAt[seq]) / (seq.OutputLength - 1));
                }
            }
        }

        result.Seconds = Now();
        result.Fit = scheduler.Policy.Cap.Model.FitTerms;
        return result;
    }

    /// <summary>Poisson arrival times at <paramref name="rate"/> per second over <paramref name="seconds"/>, seeded.</summary>
    public static List<double> PoissonArrivals(double rate, double seconds, int seed)
    {
        var random = new Random(seed);
        var arrivals = new List<double>();
        for (var t = -Math.Log(1 - random.NextDouble()) / rate; t < seconds; t += -Math.Log(1 - random.NextDouble()) / rate)
        {
            arrivals.Add(t);
        }

        return arrivals;
    }
}

/// <summary>One simulated step: its time, the model's prediction once fitted, and who ran in it.</summary>
internal sealed record SimulatedStep(double Seconds, double? Predicted, bool OnlineDecoding, int OfflineAdvanced, int OfflineRunning, int Running)
{
    /// <summary>The TPOT budget in force when the step was planned (null while it was learned).</summary>
    public double? TpotBudget { get; init; }

    /// <summary>The predicted time of the step's online work alone.</summary>
    public double PredictedOnline { get; init; }

    /// <summary>What the offline reserve's one token a sequence may add beyond any budget.</summary>
    public double ReserveSlack { get; init; }
}

/// <summary>What a <see cref="BackfillSimulation"/> run measured.</summary>
internal sealed class SimulationResult(int reservedOfflineSlots)
{
    public int ReservedOfflineSlots { get; } = reservedOfflineSlots;

    public List<double> OnlineTtft { get; } = [];

    public List<double> OnlineTpot { get; } = [];

    public List<SimulatedStep> Steps { get; } = [];

    public long OfflineTokens { get; set; }

    public double Seconds { get; set; }

    /// <summary>Which terms the scheduler's step cost fit ended with.</summary>
    public StepCostTerms Fit { get; set; }

    public double OfflineTokensPerSecond => OfflineTokens / Seconds;
}
