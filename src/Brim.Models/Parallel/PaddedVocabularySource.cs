namespace Brim.Models.Parallel;

/// <summary>
/// A rank's weights (<see cref="ShardedWeightSource"/>) with its vocabulary rows of the embedding and the LM head padded
/// with zero rows to <see cref="TensorParallelPlan.PaddedVocabPerRank"/>: every GPU rank then runs one LM-head GEMM
/// shape and sends the same number of logits to the gather (whose padding the receiver drops), and an id of the padding
/// embeds to zeros. Every other tensor passes through unchanged. <see cref="PaddedConfig"/> is the rank's model with
/// that vocabulary. Does not own the rank's source.
/// </summary>
public sealed class PaddedVocabularySource : IWeightSource
{
    private static readonly string[] VocabularyTensors = [LlamaTensorNames.Embedding, LlamaTensorNames.LmHead];
    private readonly IWeightSource _rank;
    private readonly Dictionary<string, TensorInfo> _padded = new(StringComparer.Ordinal);

    public PaddedVocabularySource(IWeightSource rank, RankShard shard)
    {
        ArgumentNullException.ThrowIfNull(rank);
        ArgumentNullException.ThrowIfNull(shard);
        _rank = rank;
        PaddedConfig = shard.RankConfig with { VocabSize = shard.Plan.PaddedVocabPerRank };
        foreach (var name in VocabularyTensors.Where(rank.Contains))
        {
            var info = rank.GetInfo(name);
            if (info.Shape.Length != 2 || info.Shape[0] != shard.Vocab.Length)
            {
                throw new ModelLoadException($"{info} should hold the rank's {shard.Vocab.Length} vocabulary rows");
            }

            _padded[name] = info with { Shape = [shard.Plan.PaddedVocabPerRank, info.Shape[1]] };
        }
    }

    /// <summary>The rank's model with its vocabulary padded: the config a GPU rank's backend is built for.</summary>
    public ModelConfig PaddedConfig { get; }

    public IReadOnlyCollection<TensorInfo> Tensors => [.. _rank.Tensors.Select(t => _padded.GetValueOrDefault(t.Name, t))];

    public int? DummySeed => _rank.DummySeed;

    public bool Contains(string name) => _rank.Contains(name);

    public TensorInfo GetInfo(string name) => _padded.TryGetValue(name, out var info) ? info : _rank.GetInfo(name);

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        if (!_padded.TryGetValue(name, out var info))
        {
            _rank.ReadRaw(name, byteOffset, destination);
            return;
        }

        WeightSourceChecks.CheckRawRange(info, byteOffset, destination.Length);
        var real = _rank.GetInfo(name).ByteCount;
        var inReal = (int)Math.Clamp(real - byteOffset, 0, destination.Length);
        if (inReal > 0)
        {
            _rank.ReadRaw(name, byteOffset, destination[..inReal]);
        }

        destination[inReal..].Clear();
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        if (!_padded.TryGetValue(name, out var info))
        {
            _rank.ReadAsFloat32(name, destination);
            return;
        }

        WeightSourceChecks.CheckFloatLength(info, destination.Length);
        var real = (int)_rank.GetInfo(name).ElementCount;
        _rank.ReadAsFloat32(name, destination[..real]);
        destination[real..].Clear();
    }

    public void Dispose()
    {
    }
}
