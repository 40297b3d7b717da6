using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;

namespace Brim.Engine.Tests;

/// <summary>
/// The CPU backend made to sample "on the device" as the CUDA backend does: when a batch carries
/// <see cref="ForwardBatch.DeviceSampling"/> rows it computes the logits, samples each row with the row's parameters and
/// uniform (the host <see cref="Sampler"/>, whose walk the device kernel reproduces) and returns only token ids. It lets
/// the engine's device-sampling path (verify rows included) run in CI and counts which path each step took.
/// </summary>
internal sealed class DeviceSamplingCpuBackend(IModelBackend inner) : IModelBackend
{
    private readonly Sampler _sampler = new();
    private ForwardOutput? _logits;

    /// <summary>Steps whose rows this backend sampled.</summary>
    public int SampledSteps { get; private set; }

    /// <summary>Steps that returned logits (the engine sampled on the host).</summary>
    public int LogitSteps { get; private set; }

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
        var verifyRows = 0;
        foreach (var s in batch.Slices)
        {
            verifyRows += s.NeedsLogits && s.LogitTokens > 1 ? s.LogitTokens : 0;
        }

        if (batch.DeviceSampling is not { } rows)
        {
            LogitSteps++;
            LogitVerifyRows += verifyRows;
            inner.Forward(batch, output);
            return;
        }

        SampledSteps++;
        SampledVerifyRows += verifyRows;
        _logits ??= new ForwardOutput(inner.VocabSize);
        inner.Forward(batch, _logits);
        output.Prepare(batch.LogitRows, sampled: true);
        for (var r = 0; r < batch.LogitRows; r++)
        {
            var row = rows[r];
            var p = new SamplingParams { Temperature = row.Temperature, TopK = row.TopK, TopP = row.TopP, MinP = row.MinP, MaxTokens = 1 };
            output.SampledTokens[r] = _sampler.Sample(_logits.LogitRow(r), p, PenaltyState.None, row.Uniform, out _);
        }
    }

    public void Dispose() => inner.Dispose();
}
