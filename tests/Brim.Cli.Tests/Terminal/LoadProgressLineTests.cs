using Brim.Cli.Terminal;
using Brim.Models;

namespace Brim.Cli.Tests.Terminal;

/// <summary>The loading line as a terminal receives it: rewritten in place with \r, throttled, blanked at the end.</summary>
public class LoadProgressLineTests
{
    private long _now = 1_000;

    [Fact]
    public void Report_ManyUpdatesWithinATenthOfASecond_DrawsOnlyTheFirstAndTheLast()
    {
        var terminal = new StringWriter();
        var line = new LoadProgressLine(terminal, () => _now);

        line.Report(Weights(100_000));
        line.Report(Weights(200_000));
        _now += 50;
        line.Report(Weights(300_000));
        line.Report(Weights(1_000_000));

        Assert.Equal("\rloading weights 0.1 of 1.0 MB (10%)\rloading weights 1.0 of 1.0 MB (100%)", terminal.ToString());
    }

    [Fact]
    public void Report_UpdateAfterATenthOfASecond_IsDrawn()
    {
        var terminal = new StringWriter();
        var line = new LoadProgressLine(terminal, () => _now);

        line.Report(Weights(100_000));
        _now += 100;
        line.Report(Weights(200_000));

        Assert.EndsWith("\rloading weights 0.2 of 1.0 MB (20%)", terminal.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_ShorterTextAfterLonger_PadsOverTheOldText()
    {
        var terminal = new StringWriter();
        var line = new LoadProgressLine(terminal, () => _now);
        var kernel = new LoadProgress(LoadPhase.Kernels, 1, 0, "attention.cu");
        var longer = LoadProgressText.Format(kernel);

        line.Report(kernel);
        line.Report(Weights(100_000));

        var second = terminal.ToString()[(longer.Length + 1)..];
        Assert.Equal('\r' + "loading weights 0.1 of 1.0 MB (10%)".PadRight(longer.Length), second);
    }

    [Fact]
    public void Report_Finished_BlanksTheLineAndReturnsToItsStart()
    {
        var terminal = new StringWriter();
        var line = new LoadProgressLine(terminal, () => _now);
        var text = LoadProgressText.Format(Weights(100_000));

        line.Report(Weights(100_000));
        line.Report(LoadProgress.Finished);

        Assert.Equal('\r' + text + '\r' + new string(' ', text.Length) + '\r', terminal.ToString());
    }

    [Fact]
    public void Report_FinishedWithNothingDrawn_WritesNothing()
    {
        var terminal = new StringWriter();

        new LoadProgressLine(terminal, () => _now).Report(LoadProgress.Finished);

        Assert.Equal(string.Empty, terminal.ToString());
    }

    private static LoadProgress Weights(long done) => new(LoadPhase.Weights, done, 1_000_000);
}
