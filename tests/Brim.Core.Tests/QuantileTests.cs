using Brim.Core.Statistics;

namespace Brim.Core.Tests;

public class QuantileTests
{
    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.5, 50)]
    [InlineData(0.9, 90)]
    [InlineData(0.99, 99)]
    [InlineData(1.0, 100)]
    public void Of_OneToHundred_IsTheNearestRank(double q, double expected) =>
        Assert.Equal(expected, Quantile.Of(Enumerable.Range(1, 100).Select(i => (double)i).Reverse(), q));

    [Fact]
    public void Of_FewSamples_IsAlwaysAMeasuredValue()
    {
        double[] samples = [3, 1, 2];
        Assert.Equal(2, Quantile.Of(samples, 0.5));
        Assert.Equal(3, Quantile.Of(samples, 0.99));
    }

    [Fact]
    public void Of_NoSamples_IsNaN_OfSortedThrows()
    {
        Assert.True(double.IsNaN(Quantile.Of([], 0.5)));
        Assert.Throws<ArgumentException>(() => Quantile.OfSorted([], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantile.OfSorted([1.0], 1.5));
    }
}
