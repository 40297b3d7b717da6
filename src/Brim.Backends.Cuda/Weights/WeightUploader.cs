using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// Moves tensors from an <see cref="IWeightSource"/> into device memory as bf16: stored bytes stream through two
/// pinned staging buffers (read the next chunk while the previous one copies; never a whole host copy of the model),
/// F32/F16 chunks are converted on the device; dummy weights are generated on the device instead.
/// </summary>
internal sealed class WeightUploader : IDisposable
{
    private const int ChunkBytes = 16 << 20;
    private readonly CudaStream _stream;
    private readonly WeightKernels _kernels;
    private readonly IWeightSource _source;
    private readonly ModelConfig _config;
    private readonly PinnedHostBuffer[] _staging;
    private readonly DeviceBuffer[] _scratch;
    private readonly CudaEvent[] _done;
    private int _next;

    public WeightUploader(CudaDevice device, CudaStream stream, WeightKernels kernels, ModelConfig config, IWeightSource source)
    {
        _stream = stream;
        _kernels = kernels;
        _source = source;
        _config = config;
        var buffers = source.DummySeed is null ? 2 : 0;
        _staging = new PinnedHostBuffer[buffers];
        _scratch = new DeviceBuffer[buffers];
        _done = new CudaEvent[buffers];
        for (var i = 0; i < buffers; i++)
        {
            _staging[i] = new PinnedHostBuffer(device, ChunkBytes);
            _scratch[i] = new DeviceBuffer(device, ChunkBytes);
            _done[i] = new CudaEvent(device);
            _done[i].Record(stream);
        }
    }

    /// <summary>Writes tensor <paramref name="name"/>, which must have shape <paramref name="expectedShape"/>, as bf16 at <paramref name="destination"/>.</summary>
    public void Upload(string name, ulong destination, long[] expectedShape)
    {
        var info = _source.GetInfo(name);
        if (!info.Shape.SequenceEqual(expectedShape))
        {
            throw new ModelLoadException($"{name} has shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", expectedShape)}]");
        }

        if (_source.DummySeed is { } seed)
        {
            var kind = DummyWeights.KindOf(info) switch
            {
                DummyTensorKind.Norm => WeightKernels.DummyKind.NormWeight,
                DummyTensorKind.Bias => WeightKernels.DummyKind.Bias,
                _ => WeightKernels.DummyKind.Matrix,
            };
            var columns = info.Shape.Length == 2 ? info.Shape[1] : 1;
            _kernels.DummyFill(_stream, destination, info.ElementCount, seed, DummyWeights.HashName(name), kind, columns, _config.WeightDType == TensorDType.F16);
            return;
        }

        var elementBytes = info.DType.ByteSize();
        for (long offset = 0; offset < info.ByteCount; offset += ChunkBytes)
        {
            var length = (int)Math.Min(ChunkBytes, info.ByteCount - offset);
            var slot = _next++ % _staging.Length;
            _done[slot].Synchronize(); // the previous copy out of this staging buffer has finished
            _source.ReadRaw(name, offset, _staging[slot].AsSpan<byte>(0, length));
            unsafe
            {
                var elementOffset = offset / elementBytes;
                var target = destination + (ulong)(elementOffset * 2);
                switch (info.DType)
                {
                    case TensorDType.BF16:
                        _stream.CopyToDevice(target, _staging[slot].Pointer, length);
                        break;
                    case TensorDType.F32:
                        _stream.CopyToDevice(_scratch[slot].Pointer, _staging[slot].Pointer, length);
                        _kernels.F32ToBf16(_stream, _scratch[slot].Pointer, target, length / elementBytes);
                        break;
                    case TensorDType.F16:
                        _stream.CopyToDevice(_scratch[slot].Pointer, _staging[slot].Pointer, length);
                        _kernels.F16ToBf16(_stream, _scratch[slot].Pointer, target, length / elementBytes);
                        break;
                    default:
                        throw new ModelLoadException($"{name}: unsupported dtype {info.DType}");
                }
            }

            _done[slot].Record(_stream);
        }
    }

    /// <summary>Waits for every queued copy (the staging buffers are freed afterwards).</summary>
    public void Finish() => _stream.Synchronize();

    public void Dispose()
    {
        Finish();
        for (var i = 0; i < _staging.Length; i++)
        {
            _staging[i].Dispose();
            _scratch[i].Dispose();
            _done[i].Dispose();
        }
    }
}
