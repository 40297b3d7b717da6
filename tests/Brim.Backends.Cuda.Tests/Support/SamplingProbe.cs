using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>
/// Wraps a backend to count which path each verify row took (device-sampled token ids or host logits), and, with
/// <paramref name="deviceSampling"/> false, to hide the backend's device sampling so the engine samples every row on the
/// host: the same forward passes, sampled the other way.
/// </summary>
internal sealed class SamplingProbe(IModelBackend inner, bool deviceSampling) : IModelBackend
{
    public int DeviceVerifyRows { get; private set; }

    public int HostVerifyRows { get; private set; }

    public string DeviceName => inner.DeviceName;

    public int VocabSize => inner.VocabSize;

    public bool SupportsDeviceSampling => deviceSampling && inner.SupportsDeviceSampling;

    public IKvSwapSpace? SwapSpace => inner.SwapSpace;

    public long KvBytesPerBlock(int blockSize) => inner.KvBytesPerBlock(blockSize);

    public long AvailableKvCacheBytes(double memoryUtilization) => inner.AvailableKvCacheBytes(memoryUtilization);

    public void AllocateKvCache(int numBlocks, int blockSize) => inner.AllocateKvCache(numBlocks, blockSize);

    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        foreach (var s in batch.Slices)
        {
            var rows = s.NeedsLogits && s.LogitTokens > 1 ? s.LogitTokens : 0;
            DeviceVerifyRows += batch.DeviceSampling is null ? 0 : rows;
            HostVerifyRows += batch.DeviceSampling is null ? rows : 0;
        }

        inner.Forward(batch, output);
    }

    public void Dispose() => inner.Dispose();
}
