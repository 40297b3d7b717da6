using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Device activations and metadata of one forward step, sized for a <see cref="StepCapacity"/>, plus the pinned host
/// side of the metadata and of the outputs. Replaced as a whole when a batch outgrows it (captured graphs die with it).
/// </summary>
internal sealed class StepBuffers : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public StepBuffers(CudaDevice device, ModelConfig config, AttentionShape shape, StepCapacity capacity)
    {
        Capacity = capacity;
        Layout = new StepLayout(capacity);
        long t = capacity.Tokens, r = capacity.LogitRows, h = config.HiddenSize;
        Residual = Device(device, t * h * sizeof(float));
        Normed = Device(device, t * h * 2);
        Qkv = Device(device, t * shape.QkvDim * 2);
        Attention = Device(device, t * shape.QueryDim * 2);
        Projection = Device(device, t * h * 2);
        GateUp = Device(device, t * 2L * config.IntermediateSize * 2);
        Activated = Device(device, t * config.IntermediateSize * 2);
        FinalHidden = Device(device, r * h * 2);
        Logits = Device(device, r * config.VocabSize * sizeof(float));
        SampledTokens = Device(device, r * sizeof(int));
        Logprobs = Device(device, r * SamplingKernel.LogprobsPerRow * sizeof(float));
        LogprobIds = Device(device, r * ForwardOutput.MaxTopLogprobs * sizeof(int));
        AttentionPartials = Device(device, AttentionKernel.PartialFloats(shape) * sizeof(float));
        Metadata = Device(device, (long)Layout.TotalInts * sizeof(int));
        HostMetadata = Own(new PinnedHostBuffer(device, (long)Layout.TotalInts * sizeof(int)));
        HostSampledTokens = Own(new PinnedHostBuffer(device, r * sizeof(int)));
        HostLogprobs = Own(new PinnedHostBuffer(device, r * SamplingKernel.LogprobsPerRow * sizeof(float)));
        HostLogprobIds = Own(new PinnedHostBuffer(device, r * ForwardOutput.MaxTopLogprobs * sizeof(int)));
    }

    public StepCapacity Capacity { get; }

    public StepLayout Layout { get; }

    /// <summary>fp32 residual stream [tokens, hidden].</summary>
    public DeviceBuffer Residual { get; }

    /// <summary>bf16 normalized hidden states, the input of the next projection [tokens, hidden].</summary>
    public DeviceBuffer Normed { get; }

    public DeviceBuffer Qkv { get; }

    public DeviceBuffer Attention { get; }

    /// <summary>bf16 output of o_proj and of down_proj, added into the residual by the next norm [tokens, hidden].</summary>
    public DeviceBuffer Projection { get; }

    public DeviceBuffer GateUp { get; }

    public DeviceBuffer Activated { get; }

    public DeviceBuffer FinalHidden { get; }

    public DeviceBuffer Logits { get; }

    public DeviceBuffer SampledTokens { get; }

    /// <summary>Per logit row: the sampled token's logprob, then the best tokens' (<see cref="SamplingKernel.LogprobsPerRow"/> floats).</summary>
    public DeviceBuffer Logprobs { get; }

    /// <summary>Per logit row: the ids of the best tokens (<see cref="ForwardOutput.MaxTopLogprobs"/> ints).</summary>
    public DeviceBuffer LogprobIds { get; }

    public DeviceBuffer AttentionPartials { get; }

    public DeviceBuffer Metadata { get; }

    public PinnedHostBuffer HostMetadata { get; }

    public PinnedHostBuffer HostSampledTokens { get; }

    public PinnedHostBuffer HostLogprobs { get; }

    public PinnedHostBuffer HostLogprobIds { get; }

    /// <summary>Device address of metadata int <paramref name="index"/>.</summary>
    public ulong MetadataAt(int index) => Metadata.At((long)index * sizeof(int));

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }

    private DeviceBuffer Device(CudaDevice device, long bytes) => Own(new DeviceBuffer(device, Math.Max(bytes, 256)));

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
