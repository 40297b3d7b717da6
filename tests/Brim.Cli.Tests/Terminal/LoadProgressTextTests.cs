using Brim.Cli.Terminal;
using Brim.Models;

namespace Brim.Cli.Tests.Terminal;

/// <summary>The words of the loading line.</summary>
public class LoadProgressTextTests
{
    [Fact]
    public void Format_WeightsOfGigabytes_ShowsGigabytesAndPercent()
    {
        Assert.Equal("loading weights 1.2 of 4.5 GB (26%)", LoadProgressText.Format(new LoadProgress(LoadPhase.Weights, 1_200_000_000, 4_500_000_000)));
    }

    [Fact]
    public void Format_WeightsOfMegabytes_ShowsMegabytes()
    {
        Assert.Equal("loading weights 0.5 of 1.0 MB (50%)", LoadProgressText.Format(new LoadProgress(LoadPhase.Weights, 500_000, 1_000_000)));
    }

    [Fact]
    public void Format_WeightsReadPastTheTotal_StopsAtTheTotal()
    {
        Assert.Equal("loading weights 1.0 of 1.0 MB (100%)", LoadProgressText.Format(new LoadProgress(LoadPhase.Weights, 1_500_000, 1_000_000)));
    }

    [Fact]
    public void Format_Kernel_ShowsItsNumberAndSource()
    {
        Assert.Equal("compiling CUDA kernels (cached for the next start): #3 gemv.cu", LoadProgressText.Format(new LoadProgress(LoadPhase.Kernels, 3, 0, "gemv.cu")));
    }

    [Fact]
    public void Format_Finished_IsEmpty()
    {
        Assert.Equal(string.Empty, LoadProgressText.Format(LoadProgress.Finished));
    }
}
