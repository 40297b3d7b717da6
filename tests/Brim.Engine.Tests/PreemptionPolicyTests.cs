using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>The swap-or-recompute decision: its cost model and its dependence on free host blocks.</summary>
public class PreemptionPolicyTests
{
    private const long BytesPerBlock = 1_000_000;

    [Fact]
    public void Choose_NothingComputed_Recomputes()
    {
        var policy = Policy(hostBlocks: 8, copyBytesPerSecond: double.PositiveInfinity);
        Assert.Equal(PreemptionMode.Recompute, policy.Choose(computedTokens: 0, blocks: 0));
    }

    [Fact]
    public void Choose_FewerFreeHostBlocksThanNeeded_Recomputes()
    {
        var policy = Policy(hostBlocks: 2, copyBytesPerSecond: double.PositiveInfinity);
        Assert.Equal(PreemptionMode.Swap, policy.Choose(computedTokens: 32, blocks: 2));
        Assert.Equal(PreemptionMode.Recompute, policy.Choose(computedTokens: 48, blocks: 3));
    }

    [Fact]
    public void Choose_BeforeAnyPrefillMeasurement_Swaps()
    {
        var policy = Policy(hostBlocks: 8, copyBytesPerSecond: 1e3); // absurdly slow link, but nothing to compare it with
        Assert.Null(policy.RecomputeSeconds(16));
        Assert.Equal(PreemptionMode.Swap, policy.Choose(computedTokens: 16, blocks: 1));
    }

    [Fact]
    public void Choose_PrefillFasterThanTheLink_Recomputes_SlowerSwaps()
    {
        // One block out and back over 1 GB/s: 2 ms. 16 tokens at 10 µs each: 0.16 ms; at 1 ms each: 16 ms.
        var fastPrefill = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        TrainPrefill(fastPrefill.Cost, secondsPerToken: 10e-6);
        Assert.Equal(2e-3, fastPrefill.SwapSeconds(1), 9);
        Assert.Equal(PreemptionMode.Recompute, fastPrefill.Choose(computedTokens: 16, blocks: 1));

        var slowPrefill = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        TrainPrefill(slowPrefill.Cost, secondsPerToken: 1e-3);
        Assert.Equal(PreemptionMode.Swap, slowPrefill.Choose(computedTokens: 16, blocks: 1));
    }

    [Fact]
    public void RecomputeSeconds_SharedStepCostModel_PricesPrefillByItsPerKindFit()
    {
        // Decode rows cheap, prefill dear: the recompute price follows the prefill coefficient, not the average token.
        var policy = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        for (var i = 0; i < 64; i++)
        {
            var decode = (i * 7) % 50;
            var prefill = (i * 13) % 200;
            policy.Cost.Observe(new StepShape(decode, prefill, 0), 1e-3 + (1e-6 * decode) + (1e-4 * prefill));
        }

        Assert.InRange(policy.RecomputeSeconds(100)!.Value, 0.99e-2, 1.01e-2);
    }

    [Fact]
    public void Constructor_NonPositiveBandwidth_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy(hostBlocks: 1, copyBytesPerSecond: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy(hostBlocks: 1, copyBytesPerSecond: double.NaN));
    }

    private static PreemptionPolicy Policy(int hostBlocks, double copyBytesPerSecond) =>
        new(new BlockManager(hostBlocks, 16, 0), BytesPerBlock, copyBytesPerSecond);

    /// <summary>Steps of 1..64 prefill tokens at an exact cost: 1 ms fixed plus <paramref name="secondsPerToken"/> each.</summary>
    private static void TrainPrefill(StepCostModel cost, double secondsPerToken)
    {
        for (var tokens = 1; tokens <= 64; tokens++)
        {
            cost.Observe(new StepShape(0, tokens, 0), 1e-3 + (secondsPerToken * tokens));
        }
    }
}
