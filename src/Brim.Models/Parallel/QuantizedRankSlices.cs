namespace Brim.Models.Parallel;

/// <summary>
/// One rank's part of a quantized checkpoint (AWQ, GPTQ, FP8): its linear layers at the rank's shape, and a view of the
/// raw tensors that reads only the rank's codes, zero points and scales. A layer's slice is its float weight's
/// (<see cref="RankShard.SliceOf"/>: output rows for q/k/v and gate/up, input columns for o and down), carried through
/// each format's packing:
/// <list type="bullet">
/// <item>AWQ: qweight [in, out/8] and qzeros [groups, out/8] pack eight outputs a word, scales [groups, out]: an output
/// range takes word columns (whole words: multiples of 8), an input range takes rows of qweight and group rows of the rest.</item>
/// <item>GPTQ: qweight [in·bits/32, out] packs inputs, qzeros [groups, out·bits/32] outputs: the same with the packing
/// on the other side. g_idx was checked to be the plain order on load and is left out: the rank's order is plain too.</item>
/// <item>FP8: weight [out, in] by rows or columns; a per-channel weight_scale by rows with its outputs, a per-tensor one
/// (and input_scale) on every rank.</item>
/// </list>
/// An input range must be whole groups (one group for the row, group_size −1, is every rank's whole group), and ranges
/// must be whole packed words; a checkpoint whose split breaks either is refused naming the layer, the rank and the range.
/// </summary>
public static class QuantizedRankSlices
{
    public static ModelQuantization For(ModelQuantization full, RankShard shard)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(shard);
        var raw = full.Packed ?? throw new ArgumentException($"{full.Description}: quantized on load, so its float weights are sharded instead", nameof(full));
        var slices = new List<TensorSlice>();
        var layers = new List<QuantizedLinear>(full.Linears.Count);
        foreach (var layer in full.Linears)
        {
            var weight = shard.SliceOf(new TensorInfo(layer.WeightName, TensorDType.F32, [layer.OutFeatures, layer.InFeatures]));
            var outputs = weight.Kind == SliceKind.Rows ? weight.Range : new IndexRange(0, layer.OutFeatures);
            var inputs = weight.Kind == SliceKind.Columns ? weight.Range : new IndexRange(0, layer.InFeatures);
            if (weight.Kind is not (SliceKind.Rows or SliceKind.Columns))
            {
                throw new ModelLoadException($"{layer.WeightName}: a linear layer held {weight.Kind} by tensor parallel rank {shard.Rank}");
            }

            slices.AddRange(RawSlices(layer, raw, weight.Kind == SliceKind.Rows, outputs, inputs, shard));
            layers.Add(layer with { OutFeatures = outputs.Length, InFeatures = inputs.Length, GroupIndex = null });
        }

        var stored = slices.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b) * raw.GetInfo(s.Name).DType.ByteSize());
        return full with
        {
            Linears = layers,
            Packed = new ShardedWeightSource(raw, shard, slices),
            StoredBytes = stored,
            Description = $"{full.Description}, tensor parallel rank {shard.Rank} of {shard.Plan.WorldSize}",
        };
    }

    private static IEnumerable<TensorSlice> RawSlices(QuantizedLinear layer, IWeightSource raw, bool byOutputs, IndexRange outputs, IndexRange inputs, RankShard shard)
    {
        TensorSlice Slice(string name, SliceKind kind, IndexRange range) => new(name, kind, range, raw.GetInfo(name).Shape);
        IndexRange Packed(IndexRange range, int perWord, string what)
        {
            if (range.Start % perWord != 0 || range.Length % perWord != 0)
            {
                throw new ModelLoadException(
                    $"{layer.WeightName}: tensor parallel rank {shard.Rank} of {shard.Plan.WorldSize} takes {what} {range}, which splits {layer.Scheme.Method} words of {perWord} (--tensor-parallel-size must split it in whole words)");
            }

            return new IndexRange(range.Start / perWord, range.Length / perWord);
        }

        var group = layer.GroupWidth;
        var wholeRowGroup = group == layer.InFeatures;
        IndexRange Groups(IndexRange range) => wholeRowGroup ? new IndexRange(0, 1) : Packed(range, group, $"inputs of {group}-input groups");

        switch (layer.Scheme.Method)
        {
            case QuantizationMethod.Awq:
                if (byOutputs)
                {
                    yield return Slice(layer.Codes, SliceKind.Columns, Packed(outputs, 8, "outputs"));
                    yield return Slice(layer.Zeros!, SliceKind.Columns, Packed(outputs, 8, "outputs"));
                    yield return Slice(layer.Scales, SliceKind.Columns, outputs);
                }
                else
                {
                    var groups = Groups(inputs);
                    yield return Slice(layer.Codes, SliceKind.Rows, inputs);
                    yield return Slice(layer.Zeros!, wholeRowGroup ? SliceKind.Replicated : SliceKind.Rows, groups);
                    yield return Slice(layer.Scales, wholeRowGroup ? SliceKind.Replicated : SliceKind.Rows, groups);
                }

                break;
            case QuantizationMethod.Gptq:
                var perWord = 32 / layer.Scheme.Bits;
                if (byOutputs)
                {
                    yield return Slice(layer.Codes, SliceKind.Columns, outputs);
                    yield return Slice(layer.Zeros!, SliceKind.Columns, Packed(outputs, perWord, "outputs"));
                    yield return Slice(layer.Scales, SliceKind.Columns, outputs);
                }
                else
                {
                    var groups = Groups(inputs);
                    yield return Slice(layer.Codes, SliceKind.Rows, Packed(inputs, perWord, "inputs"));
                    yield return Slice(layer.Zeros!, wholeRowGroup ? SliceKind.Replicated : SliceKind.Rows, groups);
                    yield return Slice(layer.Scales, wholeRowGroup ? SliceKind.Replicated : SliceKind.Rows, groups);
                }

                break;
            case QuantizationMethod.Fp8:
                var perTensorScale = raw.GetInfo(layer.Scales).ElementCount == 1;
                yield return Slice(layer.Codes, byOutputs ? SliceKind.Rows : SliceKind.Columns, byOutputs ? outputs : inputs);
                yield return Slice(layer.Scales, byOutputs && !perTensorScale ? SliceKind.Rows : SliceKind.Replicated, outputs);
                if (layer.InputScale is { } inputScale)
                {
                    yield return Slice(inputScale, SliceKind.Replicated, default);
                }

                break;
            default:
                throw new ModelLoadException($"{layer.WeightName}: {layer.Scheme.Method} layouts have no tensor-parallel slicing");
        }
    }
}
