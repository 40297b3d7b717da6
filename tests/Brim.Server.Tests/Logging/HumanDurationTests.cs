using Brim.Server.Logging;

namespace Brim.Server.Tests.Logging;

public class HumanDurationTests
{
    [Theory]
    [InlineData(0.0004, "400µs")]
    [InlineData(0.012, "12ms")]
    [InlineData(1.24, "1.24s")]
    [InlineData(185, "3m05s")]
    [InlineData(86400, "24h")]
    [InlineData(5400, "1h30m")]
    public void Format_Seconds_ReadsAsPeopleWriteIt(double seconds, string expected)
    {
        Assert.Equal(expected, HumanDuration.Format(TimeSpan.FromSeconds(seconds)));
    }
}
