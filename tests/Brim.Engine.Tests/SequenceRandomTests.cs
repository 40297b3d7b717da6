using Brim.Engine.Sampling;

namespace Brim.Engine.Tests;

/// <summary>Reading a sequence's stream ahead (verify rows sampled on the device) draws exactly what drawing would.</summary>
public class SequenceRandomTests
{
    [Fact]
    public void PeekUniform_Ahead_EqualsTheDrawsThatFollowAndDrawsNothing()
    {
        var (peeked, drawn) = (new SequenceRandom(42), new SequenceRandom(42));
        var ahead = Enumerable.Range(0, 6).Select(peeked.PeekUniform).ToArray();
        Assert.Equal(Enumerable.Range(0, 6).Select(_ => drawn.NextUniform()).ToArray(), ahead);
        Assert.Equal(ahead[0], peeked.NextUniform()); // peeking drew nothing
    }

    [Fact]
    public void Skip_Count_LeavesTheStreamWhereAsManyDrawsWould()
    {
        var (skipped, drawn) = (new SequenceRandom(7), new SequenceRandom(7));
        skipped.Skip(3);
        for (var i = 0; i < 3; i++)
        {
            drawn.NextUniform();
        }

        Assert.Equal(drawn.NextUniform(), skipped.NextUniform());
    }
}
