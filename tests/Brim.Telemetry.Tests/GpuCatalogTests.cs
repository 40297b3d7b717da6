using Brim.Telemetry.Devices;

namespace Brim.Telemetry.Tests;

public class GpuCatalogTests
{
    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "H100 SXM")]
    [InlineData("NVIDIA H100 PCIe", "H100 PCIe")]
    [InlineData("NVIDIA H200", "H200")]
    [InlineData("NVIDIA A100-SXM4-80GB", "A100 80GB")]
    [InlineData("NVIDIA L40S", "L40S")]
    [InlineData("NVIDIA L4", "L4")]
    [InlineData("NVIDIA A10G", "A10G")]
    [InlineData("cpu (16 threads)", "cpu")]
    public void Find_DeviceNames_MatchCard(string deviceName, string card) =>
        Assert.Equal(card, GpuCatalog.Find(deviceName)?.Name);

    [Theory]
    [InlineData("NVIDIA L40")]
    [InlineData("NVIDIA GeForce RTX 4090")]
    [InlineData("")]
    public void Find_UnknownDevice_ReturnsNull(string deviceName) => Assert.Null(GpuCatalog.Find(deviceName));

    [Fact]
    public void Resolve_ConfiguredCost_WinsOverCatalog()
    {
        var options = new TelemetryOptions { Model = Llama31.Config8B, DeviceName = "NVIDIA H100 80GB HBM3", GpuHourlyCost = 1.25, DeviceCount = 2 };

        var profile = DeviceProfile.Resolve(options, nvmlDeviceName: null);

        Assert.Equal("H100 SXM", profile.Card?.Name);
        Assert.Equal(1.25, profile.HourlyCost);
        Assert.Equal("--gpu-hourly-cost", profile.HourlyCostSource);
        Assert.Equal(2 * 1.25 / 3600, profile.CostPerSecond!.Value, 12);
        Assert.Equal("datasheet: H100 SXM", profile.Ceilings.Source);
        Assert.Equal(3.35e12, profile.Ceilings.PeakBytesPerSecond);
        // MFU and MBU of a model over two GPUs divide by both: the gauges stay per device.
        Assert.Equal(2 * 3.35e12, profile.AllDevices.PeakBytesPerSecond);
        Assert.Equal(2 * 989e12, profile.AllDevices.PeakFlopsPerSecond);
    }

    [Fact]
    public void AllDevices_OneDevice_IsItsCeilings()
    {
        var profile = DeviceProfile.Resolve(new TelemetryOptions { Model = Llama31.Config8B }, nvmlDeviceName: "NVIDIA H100 80GB HBM3");
        Assert.Same(profile.Ceilings, profile.AllDevices);
    }

    [Fact]
    public void Resolve_MeasuredBandwidthOnly_KeepsDatasheetFlopsAndSaysSo()
    {
        var options = new TelemetryOptions { Model = Llama31.Config8B, PeakBytesPerSecond = 3.0e12, CeilingsSource = "measured at startup" };

        var profile = DeviceProfile.Resolve(options, nvmlDeviceName: "NVIDIA H100 80GB HBM3");

        Assert.Equal(3.0e12, profile.Ceilings.PeakBytesPerSecond);
        Assert.Equal(989e12, profile.Ceilings.PeakFlopsPerSecond);
        Assert.Equal("measured at startup, rest datasheet: H100 SXM", profile.Ceilings.Source);
        Assert.Equal(3.00, profile.HourlyCost);
    }

    [Fact]
    public void Validate_NegativeCost_Throws()
    {
        var options = new TelemetryOptions { Model = Llama31.Config8B, GpuHourlyCost = -1 };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Contains("--gpu-hourly-cost", ex.Message, StringComparison.Ordinal);
    }
}
