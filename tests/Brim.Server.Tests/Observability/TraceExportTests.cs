using Brim.Server.Observability;

namespace Brim.Server.Tests.Observability;

/// <summary>Which OTEL_* variables turn traces on, and where they then go.</summary>
public class TraceExportTests
{
    [Fact]
    public void FromEnvironment_NoVariables_IsNull()
    {
        Assert.Null(TraceExport.FromEnvironment(Environment([])));
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    public void FromEnvironment_OtlpEndpoint_ExportsOtlpAsBrim(string variable)
    {
        var export = TraceExport.FromEnvironment(Environment(new() { [variable] = "http://127.0.0.1:4317" }));

        Assert.NotNull(export);
        Assert.True(export.Otlp);
        Assert.False(export.Console);
        Assert.Equal("brim", export.ServiceName);
    }

    [Fact]
    public void FromEnvironment_ServiceName_NamesTheService()
    {
        var export = TraceExport.FromEnvironment(Environment(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318", ["OTEL_SERVICE_NAME"] = "llm-eu-1" }));

        Assert.Equal("llm-eu-1", export?.ServiceName);
    }

    [Fact]
    public void FromEnvironment_TracesExporterConsoleWithEndpoint_ExportsToConsoleOnly()
    {
        var export = TraceExport.FromEnvironment(Environment(new() { ["OTEL_TRACES_EXPORTER"] = "console", ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://x:4317" }));

        Assert.NotNull(export);
        Assert.True(export.Console);
        Assert.False(export.Otlp);
    }

    [Fact]
    public void FromEnvironment_TracesExporterList_ExportsToEach()
    {
        var export = TraceExport.FromEnvironment(Environment(new() { ["OTEL_TRACES_EXPORTER"] = "OTLP, console" }));

        Assert.NotNull(export);
        Assert.True(export.Otlp);
        Assert.True(export.Console);
    }

    [Theory]
    [InlineData("OTEL_TRACES_EXPORTER", "none")]
    [InlineData("OTEL_SDK_DISABLED", "true")]
    public void FromEnvironment_NoneOrSdkDisabled_IsNullEvenWithAnEndpoint(string variable, string value)
    {
        Assert.Null(TraceExport.FromEnvironment(Environment(new() { [variable] = value, ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://x:4317" })));
    }

    [Fact]
    public void FromEnvironment_UnknownExporter_ThrowsNamingTheVariable()
    {
        var error = Assert.Throws<ArgumentException>(() => TraceExport.FromEnvironment(Environment(new() { ["OTEL_TRACES_EXPORTER"] = "zipkin" })));

        Assert.StartsWith("OTEL_TRACES_EXPORTER: 'zipkin'", error.Message, StringComparison.Ordinal);
    }

    private static Func<string, string?> Environment(Dictionary<string, string> variables) => name => variables.GetValueOrDefault(name);
}
