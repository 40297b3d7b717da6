namespace Brim.Models.Parallel;

/// <summary>
/// One rank's view of a full checkpoint: every tensor under its own name, with the shape and values of the rank's
/// slice (<see cref="RankShard.SliceOf"/>); a row-parallel bias appears on rank 0 only. A backend built for
/// <see cref="RankShard.RankConfig"/> loads from it as from any source, and reads only the rank's bytes: a row range
/// is one contiguous read, a column range one read per row. Tensors in packed (quantized) or generated form, which
/// have no bytes to slice, are read whole into a transient buffer, one tensor at a time. Does not own the full source.
/// </summary>
public sealed class ShardedWeightSource : IWeightSource
{
    private readonly IWeightSource _full;
    private readonly RankShard _shard;
    private readonly Dictionary<string, (TensorSlice Slice, TensorInfo Info)> _tensors = new(StringComparer.Ordinal);

    public ShardedWeightSource(IWeightSource full, RankShard shard)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(shard);
        _full = full;
        _shard = shard;
        foreach (var info in full.Tensors)
        {
            var slice = shard.SliceOf(info);
            if (slice.Kind != SliceKind.Absent)
            {
                _tensors.Add(info.Name, (slice, info with { Shape = slice.Shape }));
            }
        }
    }

    /// <summary>
    /// A view that serves exactly <paramref name="slices"/> (by tensor name) of <paramref name="full"/>'s tensors: the
    /// raw tensors of a quantized checkpoint, whose slices follow their packing rather than their names
    /// (<see cref="QuantizedRankSlices"/>).
    /// </summary>
    public ShardedWeightSource(IWeightSource full, RankShard shard, IEnumerable<TensorSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(slices);
        _full = full;
        _shard = shard;
        foreach (var slice in slices)
        {
            _tensors.Add(slice.Name, (slice, full.GetInfo(slice.Name) with { Shape = slice.Shape }));
        }
    }

    public IReadOnlyCollection<TensorInfo> Tensors => _tensors.Values.Select(t => t.Info).ToArray();

    /// <summary>Null: generated values depend on the full shape, so the view serves them through <see cref="ReadAsFloat32"/>.</summary>
    public int? DummySeed => null;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) => Get(name).Info;

    /// <summary>The slice of <paramref name="name"/> this view serves.</summary>
    public TensorSlice SliceOf(string name) => Get(name).Slice;

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        var (slice, info) = Get(name);
        WeightSourceChecks.CheckRawRange(info, byteOffset, destination.Length);
        var all = new byte[info.ByteCount];
        ReadSliceBytes(slice, info.DType.ByteSize(), all);
        all.AsSpan((int)byteOffset, destination.Length).CopyTo(destination);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        var (slice, info) = Get(name);
        WeightSourceChecks.CheckFloatLength(info, destination.Length);
        if (info.DType.IsFloat() && _full.DummySeed is null)
        {
            var bytes = new byte[info.ByteCount];
            ReadSliceBytes(slice, info.DType.ByteSize(), bytes);
            DTypeConversion.ToFloat32(bytes, info.DType, destination);
            return;
        }

        var whole = new float[_full.GetInfo(name).ElementCount];
        _full.ReadAsFloat32(name, whole);
        Copy(slice, whole, destination);
    }

    public void Dispose()
    {
    }

    private (TensorSlice Slice, TensorInfo Info) Get(string name) =>
        _tensors.TryGetValue(name, out var entry)
            ? entry
            : throw new ModelLoadException($"tensor {name} is not held by tensor parallel rank {_shard.Rank} of {_shard.Plan.WorldSize}");

    /// <summary>The slice's stored bytes, read from the full source: rows in one read, columns one read per row.</summary>
    private void ReadSliceBytes(TensorSlice slice, int elementBytes, Span<byte> destination)
    {
        var shape = slice.FullShape;
        var rowElements = shape.Length == 2 ? shape[1] : 1;
        switch (slice.Kind)
        {
            case SliceKind.Replicated:
                _full.ReadRaw(slice.Name, 0, destination);
                break;
            case SliceKind.Rows:
                _full.ReadRaw(slice.Name, slice.Range.Start * rowElements * elementBytes, destination);
                break;
            case SliceKind.Columns:
                var width = slice.Range.Length * elementBytes;
                for (var row = 0; row < shape[0]; row++)
                {
                    var offset = ((row * rowElements) + slice.Range.Start) * elementBytes;
                    _full.ReadRaw(slice.Name, offset, destination.Slice(row * width, width));
                }

                break;
            default:
                throw new InvalidOperationException($"{slice} has no bytes");
        }
    }

    /// <summary>Copies the slice out of the whole tensor's elements.</summary>
    private static void Copy(TensorSlice slice, ReadOnlySpan<float> whole, Span<float> destination)
    {
        var shape = slice.FullShape;
        var rowElements = shape.Length == 2 ? (int)shape[1] : 1;
        switch (slice.Kind)
        {
            case SliceKind.Replicated:
                whole.CopyTo(destination);
                break;
            case SliceKind.Rows:
                whole.Slice(slice.Range.Start * rowElements, slice.Range.Length * rowElements).CopyTo(destination);
                break;
            case SliceKind.Columns:
                for (var row = 0; row < shape[0]; row++)
                {
                    whole.Slice((row * rowElements) + slice.Range.Start, slice.Range.Length).CopyTo(destination.Slice(row * slice.Range.Length, slice.Range.Length));
                }

                break;
            default:
                throw new InvalidOperationException($"{slice} has no elements");
        }

    }
}
