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
        Assert.Null(policy.PrefillSecondsPerToken);
        Assert.Equal(PreemptionMode.Swap, policy.Choose(computedTokens: 16, blocks: 1));
    }

    [Fact]
    public void Choose_PrefillFasterThanTheLink_Recomputes_SlowerSwaps()
    {
        // One block out and back over 1 GB/s: 2 ms. 16 tokens at 10 µs each: 0.16 ms; at 1 ms each: 16 ms.
        var fastPrefill = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        fastPrefill.ObserveForward(prefillTokens: 1000, decodeTokens: 0, forwardSeconds: 0.01);
        Assert.Equal(2e-3, fastPrefill.SwapSeconds(1), 9);
        Assert.Equal(PreemptionMode.Recompute, fastPrefill.Choose(computedTokens: 16, blocks: 1));

        var slowPrefill = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        slowPrefill.ObserveForward(prefillTokens: 1000, decodeTokens: 0, forwardSeconds: 1.0);
        Assert.Equal(PreemptionMode.Swap, slowPrefill.Choose(computedTokens: 16, blocks: 1));
    }

    [Fact]
    public void ObserveForward_MostlyDecodeSteps_AreIgnored_BigStepsWeighMore()
    {
        var policy = Policy(hostBlocks: 8, copyBytesPerSecond: 1e9);
        policy.ObserveForward(prefillTokens: 1, decodeTokens: 30, forwardSeconds: 1.0);
        Assert.Null(policy.PrefillSecondsPerToken);

        policy.ObserveForward(prefillTokens: 1000, decodeTokens: 0, forwardSeconds: 0.1);
        policy.ObserveForward(prefillTokens: 10, decodeTokens: 0, forwardSeconds: 0.1);
        var perToken = policy.PrefillSecondsPerToken!.Value;
        Assert.InRange(perToken, 1e-4, 2.5e-4); // near the big step's 0.1 ms, far from the small one's 10 ms
    }

    [Fact]
    public void Constructor_NonPositiveBandwidth_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy(hostBlocks: 1, copyBytesPerSecond: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy(hostBlocks: 1, copyBytesPerSecond: double.NaN));
    }

    private static PreemptionPolicy Policy(int hostBlocks, double copyBytesPerSecond) =>
        new(new BlockManager(hostBlocks, 16, 0), BytesPerBlock, copyBytesPerSecond);
}
