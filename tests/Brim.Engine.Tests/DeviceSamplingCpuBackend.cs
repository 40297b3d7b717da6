using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;

namespace Brim.Engine.Tests;

/// <summary>
/// The CPU backend made to sample "on the device" as the CUDA backend does: when a batch carries
/// <see cref="ForwardBatch.DeviceSampling"/> rows it computes the logits, samples each device row with the row's
/// parameters and uniform (the host <see cref="Sampler"/>, whose walk the device kernel reproduces), reports logprobs
/// where a row asks, and returns only the logits of <see cref="DeviceSamplingRow.ReturnLogits"/> rows. It lets the
/// engine's device-sampling path (verify rows and host rows included) run in CI and counts which path each row took.
/// </summary>
internal sealed class DeviceSamplingCpuBackend(IModelBackend inner) : IModelBackend
{
    private readonly Sampler _sampler = new();
    private ForwardOutput? _logits;

    /// <summary>Steps whose rows this backend sampled (some may have returned logits).</summary>
    public int SampledSteps { get; private set; }

    /// <summary>Steps without device sampling rows (every row returned logits).</summary>
    public int LogitSteps { get; private set; }

    /// <summary>Rows of device-sampled steps that returned logits for the host to sample.</summary>
    public int ReturnedLogitRows { get; private set; }

    /// <summary>Rows sampled here that asked for logprobs.</summary>
    public int LogprobRows { get; private set; }

    /// <summary>Rows sampled here that belong to slices verifying a draft.</summary>
    public int SampledVerifyRows { get; private set; }

    /// <summary>Rows returned as logits that belong to slices verifying a draft.</summary>
    public int LogitVerifyRows { get; private set; }

    public string DeviceName => inner.DeviceName + " (sampling as a device)";

    public int VocabSize => inner.VocabSize;

    public bool SupportsDeviceSampling => true;

    public IKvSwapSpace? SwapSpace => inner.SwapSpace;

    public long KvBytesPerBlock(int blockSize) => inner.KvBytesPerBlock(blockSize);

    public long AvailableKvCacheBytes(double memoryUtilization) => inner.AvailableKvCacheBytes(memoryUtilization);

    public void AllocateKvCache(int numBlocks, int blockSize) => inner.AllocateKvCache(numBlocks, blockSize);

    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        if (batch.DeviceSampling is not { } rows)
        {
            LogitSteps++;
            foreach (var s in batch.Slices)
            {
                LogitVerifyRows += s.NeedsLogits && s.LogitTokens > 1 ? s.LogitTokens : 0;
            }

            inner.Forward(batch, output);
            return;
        }

        SampledSteps++;
        _logits ??= new ForwardOutput(inner.VocabSize);
        inner.Forward(batch, _logits);
        output.Prepare(rows);
        var r = 0;
        foreach (var slice in batch.Slices)
        {
            for (var j = 0; j < slice.LogitRowCount; j++, r++)
            {
                var verify = slice.LogitTokens > 1;
                if (rows[r].ReturnLogits)
                {
                    _logits.LogitRow(r).CopyTo(output.LogitRow(r));
                    ReturnedLogitRows++;
                    LogitVerifyRows += verify ? 1 : 0;
                    continue;
                }

                SampledVerifyRows += verify ? 1 : 0;
                Sample(rows[r], r, output);
            }
        }
    }

    public void Dispose() => inner.Dispose();

    private void Sample(DeviceSamplingRow row, int r, ForwardOutput output)
    {
        var p = new SamplingParams { Temperature = row.Temperature, TopK = row.TopK, TopP = row.TopP, MinP = row.MinP, MaxTokens = 1, Logprobs = row.TopLogprobs };
        output.SampledTokens[r] = _sampler.Sample(_logits!.LogitRow(r), p, PenaltyState.None, row.Uniform, out var logprobs);
        if (logprobs is null)
        {
            return;
        }

        LogprobRows++;
        output.ChosenLogprobs[r] = logprobs.Logprob;
        for (var i = 0; i < logprobs.Top.Count; i++)
        {
            output.TopLogprobTokens[(r * ForwardOutput.MaxTopLogprobs) + i] = logprobs.Top[i].TokenId;
            output.TopLogprobValues[(r * ForwardOutput.MaxTopLogprobs) + i] = logprobs.Top[i].Logprob;
        }
    }
}
