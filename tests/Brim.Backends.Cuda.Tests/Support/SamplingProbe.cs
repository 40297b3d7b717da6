using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>
/// Wraps a backend to count which path each row took (device-sampled token ids or host logits), and, with
/// <paramref name="deviceSampling"/> false, to hide the backend's device sampling so the engine samples every row on the
/// host: the same forward passes, sampled the other way.
/// </summary>
internal sealed class SamplingProbe(IModelBackend inner, bool deviceSampling) : IModelBackend
{
    public int DeviceVerifyRows { get; private set; }

    public int HostVerifyRows { get; private set; }

    /// <summary>Rows of any kind the device sampled.</summary>
    public int DeviceRows { get; private set; }

    /// <summary>Rows of any kind whose logits came back to the host.</summary>
    public int HostRows { get; private set; }

    /// <summary>Device rows that asked for logprobs.</summary>
    public int LogprobRows { get; private set; }

    public string DeviceName => inner.DeviceName;

    public int VocabSize => inner.VocabSize;

    public bool SupportsDeviceSampling => deviceSampling && inner.SupportsDeviceSampling;

    public IKvSwapSpace? SwapSpace => inner.SwapSpace;

    public long KvBytesPerBlock(int blockSize) => inner.KvBytesPerBlock(blockSize);

    public long AvailableKvCacheBytes(double memoryUtilization) => inner.AvailableKvCacheBytes(memoryUtilization);

    public void AllocateKvCache(int numBlocks, int blockSize) => inner.AllocateKvCache(numBlocks, blockSize);

    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        var r = 0;
        foreach (var s in batch.Slices)
        {
            for (var j = 0; j < s.LogitRowCount; j++, r++)
            {
                var device = batch.DeviceSampling is { } rows && !rows[r].ReturnLogits;
                var verify = s.LogitTokens > 1;
                DeviceVerifyRows += device && verify ? 1 : 0;
                HostVerifyRows += !device && verify ? 1 : 0;
                DeviceRows += device ? 1 : 0;
                HostRows += device ? 0 : 1;
                LogprobRows += device && batch.DeviceSampling![r].WantsLogprobs ? 1 : 0;
            }
        }

        inner.Forward(batch, output);
    }

    public void Dispose() => inner.Dispose();
}
