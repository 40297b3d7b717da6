using Brim.Core.Execution;

namespace Brim.Core.Tests;

/// <summary>
/// The output contract a sampling backend fills: token ids for every row, logprobs where a row asked, and the logits of
/// the rows the host samples only, packed in row order and found by row.
/// </summary>
public class ForwardOutputTests
{
    private const int Vocab = 4;

    [Fact]
    public void Prepare_SampledWithHostRows_PacksTheirLogitsInRowOrder()
    {
        var output = new ForwardOutput(Vocab);
        DeviceSamplingRow[] rows = [new(0f, 0, 1f, 0f, 0f), DeviceSamplingRow.HostSampled, new(0.7f, 0, 1f, 0f, 0.3f, TopLogprobs: 2), DeviceSamplingRow.HostSampled];
        output.Prepare(rows);

        Assert.True(output.Sampled);
        Assert.Equal(4, output.Rows);
        Assert.Equal(2, output.LogitRowCount);
        Assert.Equal([false, true, false, true], Enumerable.Range(0, 4).Select(output.HasLogits));
        Assert.Equal([-1, 0, -1, 1], Enumerable.Range(0, 4).Select(output.LogitSlot));
        output.LogitRow(3).Fill(3f);
        output.LogitRow(1).Fill(1f);
        Assert.Equal([1f, 1f, 1f, 1f, 3f, 3f, 3f, 3f], output.Logits[..8]);
        Assert.Throws<InvalidOperationException>(() => output.LogitRow(0));
    }

    [Fact]
    public void Logprobs_OnlyForRowsThatAskedAndWereWritten()
    {
        var output = new ForwardOutput(Vocab);
        output.Prepare([new DeviceSamplingRow(0f, 0, 1f, 0f, 0f, TopLogprobs: 2), new DeviceSamplingRow(0f, 0, 1f, 0f, 0f)]);
        output.ChosenLogprobs[0] = -0.5f;
        output.TopLogprobTokens[0] = 3;
        output.TopLogprobTokens[1] = 1;
        output.TopLogprobValues[0] = -0.5f;
        output.TopLogprobValues[1] = -1.5f;

        var (chosen, tokens, values) = output.Logprobs(0, 2);
        Assert.Equal(-0.5f, chosen);
        Assert.Equal([3, 1], tokens.ToArray());
        Assert.Equal([-0.5f, -1.5f], values.ToArray());
        Assert.Throws<InvalidOperationException>(() => output.Logprobs(1, 0)); // asked for none: left NaN by Prepare
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Logprobs(0, ForwardOutput.MaxTopLogprobs + 1));
    }

    [Fact]
    public void Prepare_AgainWithFewerHostRows_ForgetsTheEarlierLayout()
    {
        var output = new ForwardOutput(Vocab);
        output.Prepare([DeviceSamplingRow.HostSampled, DeviceSamplingRow.HostSampled]);
        output.Prepare([new DeviceSamplingRow(0f, 0, 1f, 0f, 0f), DeviceSamplingRow.HostSampled]);

        Assert.False(output.HasLogits(0));
        Assert.Equal(0, output.LogitSlot(1));
        Assert.Equal(1, output.LogitRowCount);

        output.Prepare(2, sampled: false);
        Assert.False(output.Sampled);
        Assert.True(output.HasLogits(0) && output.HasLogits(1));
        Assert.Equal(1, output.LogitSlot(1));
    }

    [Fact]
    public void DeviceSamplingRow_DefaultAndHostRowsWantNoLogprobs()
    {
        Assert.False(default(DeviceSamplingRow).WantsLogprobs);
        Assert.False(DeviceSamplingRow.HostSampled.WantsLogprobs);
        Assert.True(new DeviceSamplingRow(1f, 0, 1f, 0f, 0.5f, TopLogprobs: 0).WantsLogprobs);
    }
}
