using Brim.Core;
using Brim.Engine.Scheduling;
using Brim.Engine.Speculative;

namespace Brim.Engine.Tests.Speculative;

/// <summary>
/// The per-step choice of draft length from measured acceptance and the fitted step cost: drafts where an extra row is
/// nearly free (a bandwidth-bound step at small batch), none where rows cost as much as the tokens they may save or
/// where drafts are rarely accepted.
/// </summary>
public class SpeculationPolicyTests
{
    private static readonly SpeculativeConfig Config = new() { NumSpeculativeTokens = 4 };

    [Fact]
    public void ExpectedTokens_GeometricAcceptance_SumsThePowers()
    {
        Assert.Equal(1, SpeculationPolicy.ExpectedTokens(0.7, 0));
        Assert.Equal(1 + 0.5 + 0.25 + 0.125, SpeculationPolicy.ExpectedTokens(0.5, 3), 12);
        Assert.Equal(5, SpeculationPolicy.ExpectedTokens(1, 4));
    }

    [Fact]
    public void Choose_BandwidthBoundStepAtBatchOne_DraftsTheFullLength()
    {
        var policy = new SpeculationPolicy(Config, Fitted(fixedSeconds: 5e-3, perRow: 1e-5));
        var seqs = Sequences(1, acceptedPerDraft: 4); // acceptance 0.8
        Assert.Equal([4], Choose(policy, seqs));
    }

    [Fact]
    public void Choose_DraftAsDearAsTheTarget_TurnsSpeculationOff()
    {
        // Rows are nearly free, but each draft token costs as much as a whole target step (a draft model as big as the target).
        var policy = new SpeculationPolicy(Config, Fitted(fixedSeconds: 5e-3, perRow: 1e-5));
        policy.ObserveDraftCost(seconds: 4 * 5e-3, tokens: 4);
        Assert.Equal([0], Choose(policy, Sequences(1, acceptedPerDraft: 4)));
    }

    [Fact]
    public void Choose_RowsCostAsMuchAsTokensInAFullBatch_TurnsSpeculationOff()
    {
        // A CPU-like step: every row costs the same; at batch 64, k rows for less than k tokens lower the rate.
        var policy = new SpeculationPolicy(Config, Fitted(fixedSeconds: 1e-4, perRow: 1e-4));
        var seqs = Sequences(64, acceptedPerDraft: 2); // acceptance 2/3
        Assert.All(Choose(policy, seqs), k => Assert.Equal(0, k));
    }

    [Fact]
    public void Choose_DraftsNeverAccepted_TurnsSpeculationOffEvenWhenRowsAreCheap()
    {
        var policy = new SpeculationPolicy(Config, Fitted(fixedSeconds: 5e-3, perRow: 2e-4));
        var seqs = Sequences(1, acceptedPerDraft: 0);
        Assert.Equal([0], Choose(policy, seqs));
    }

    [Fact]
    public void Choose_OfflineNeedsAMargin_OnlineDoesNot()
    {
        // A gain just above break-even (1.5 tokens for 1.9 ms against 1 for 1.0 ms + 0.9 ms: +1.8 %): online speculates,
        // offline (which must beat the rate by 5 %) does not.
        var model = Fitted(fixedSeconds: 1e-3, perRow: 0.9e-3);
        var policy = new SpeculationPolicy(Config with { NumSpeculativeTokens = 1 }, model);
        var online = Sequences(1, acceptedPerDraft: 1);
        var offline = Sequences(1, acceptedPerDraft: 1, TrafficClass.Offline);
        Assert.Equal([1], Choose(policy, online));
        Assert.Equal([0], Choose(policy, offline));
    }

    private static int[] Choose(SpeculationPolicy policy, List<Sequence> seqs)
    {
        var lengths = new int[seqs.Count];
        var limits = Enumerable.Repeat(16, seqs.Count).ToArray();
        policy.Choose(seqs, limits, seqs.Count, seqs.Sum(s => (long)s.Length), lengths);
        return lengths;
    }

    /// <summary>A cost model fitted to steps of <c>fixed + perRow × decode rows</c>.</summary>
    private static StepCostModel Fitted(double fixedSeconds, double perRow)
    {
        var model = new StepCostModel();
        for (var i = 0; i < 200; i++)
        {
            var rows = 1 + (i * 7 % 97);
            model.Observe(new StepShape(rows, 0, 0), fixedSeconds + (perRow * rows));
        }

        Assert.True(model.IsFitted);
        return model;
    }

    /// <summary>
    /// Sequences whose drafts of 16 tokens each had <paramref name="acceptedPerDraft"/> accepted, many times over: per-token
    /// acceptance m / (m + 1) under the geometric model.
    /// </summary>
    private static List<Sequence> Sequences(int count, int acceptedPerDraft, TrafficClass traffic = TrafficClass.Online)
    {
        return Enumerable.Range(0, count).Select(i =>
        {
            var seq = new Sequence(
                new GenerationRequest { Id = new RequestId($"s{i}"), PromptTokens = [1, 2, 3], TrafficClass = traffic }, i, null)
            {
                ComputedTokens = 2,
            };

            // Enough verifications for the running average to forget its prior.
            for (var v = 0; v < 200; v++)
            {
                seq.Speculation.Observe(16, acceptedPerDraft);
            }

            return seq;
        }).ToList();
    }
}
