namespace Brim.Models.Parallel;

/// <summary>
/// Megatron-style tensor parallelism of a Llama-family decoder over <see cref="WorldSize"/> ranks: every rank holds
/// a slice of the attention heads, KV heads, MLP features and vocabulary, and runs the same step on it; the partial
/// outputs of the row-parallel o and down projections are summed across ranks (one all-reduce each per layer), the
/// vocabulary-parallel embedding is summed (each token's row lives on one rank, the others add zeros) and the
/// vocabulary-parallel LM head's logits are gathered. Hidden size is never split: the residual stream is whole on
/// every rank. The KV cache, block tables and scheduler are unchanged; each rank's cache holds its KV heads.
/// </summary>
/// <remarks>
/// Refused, by the name of the config field: heads that do not divide by the ranks; KV heads that neither divide by
/// the ranks nor divide them (with fewer KV heads than ranks each KV head is replicated on <c>ranks / kv_heads</c>
/// consecutive ranks, whose query heads are exactly its group); an intermediate size that does not divide; a
/// vocabulary too small to give every rank a row. The vocabulary is split in ceil(vocab / ranks) rows per rank, the
/// last rank holding the remainder: a GPU rank pads its LM head to <see cref="PaddedVocabPerRank"/> rows so every rank
/// runs the same GEMM shape, and masks the padding out of the gathered logits.
/// </remarks>
public sealed class TensorParallelPlan
{
    private readonly RankShard[] _ranks;

    private TensorParallelPlan(ModelConfig config, int worldSize)
    {
        Config = config;
        WorldSize = worldSize;
        PaddedVocabPerRank = (config.VocabSize + worldSize - 1) / worldSize;
        KvReplicas = config.NumKvHeads >= worldSize ? 1 : worldSize / config.NumKvHeads;
        _ranks = new RankShard[worldSize];
        int headsPerRank = config.NumHeads / worldSize, ffPerRank = config.IntermediateSize / worldSize;
        var kvPerRank = Math.Max(1, config.NumKvHeads / worldSize);
        for (var r = 0; r < worldSize; r++)
        {
            var vocabStart = r * PaddedVocabPerRank;
            _ranks[r] = new RankShard(
                this,
                r,
                Heads: new IndexRange(r * headsPerRank, headsPerRank),
                KvHeads: new IndexRange(r / KvReplicas * kvPerRank, kvPerRank),
                Intermediate: new IndexRange(r * ffPerRank, ffPerRank),
                Vocab: new IndexRange(vocabStart, Math.Min(PaddedVocabPerRank, config.VocabSize - vocabStart)));
        }

        CheckInvariants();
    }

    public ModelConfig Config { get; }

    public int WorldSize { get; }

    /// <summary>Rows of the LM head and embedding each rank holds once padded; the last rank's real rows may be fewer.</summary>
    public int PaddedVocabPerRank { get; }

    /// <summary>How many ranks hold each KV head: 1 unless there are fewer KV heads than ranks.</summary>
    public int KvReplicas { get; }

    public IReadOnlyList<RankShard> Ranks => _ranks;

    /// <summary>The plan for <paramref name="worldSize"/> ranks; throws <see cref="ModelLoadException"/> naming the field that does not split.</summary>
    public static TensorParallelPlan Create(ModelConfig config, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "tensor parallel size must be at least 1");
        }

        Refuse(config.NumHeads % worldSize != 0, config, worldSize, $"num_attention_heads ({config.NumHeads}) is not divisible by it");
        Refuse(
            config.NumKvHeads >= worldSize ? config.NumKvHeads % worldSize != 0 : worldSize % config.NumKvHeads != 0,
            config,
            worldSize,
            $"num_key_value_heads ({config.NumKvHeads}) neither divides by it nor divides it (fewer KV heads than ranks are replicated, which needs ranks a multiple of KV heads)");
        Refuse(config.IntermediateSize % worldSize != 0, config, worldSize, $"intermediate_size ({config.IntermediateSize}) is not divisible by it");
        var perRank = (config.VocabSize + worldSize - 1) / worldSize;
        Refuse((long)perRank * (worldSize - 1) >= config.VocabSize, config, worldSize, $"vocab_size ({config.VocabSize}) split in {perRank} rows per rank leaves the last rank none");
        return new TensorParallelPlan(config, worldSize);
    }

    private static void Refuse(bool condition, ModelConfig config, int worldSize, string reason)
    {
        if (condition)
        {
            throw new ModelLoadException($"{config.Architecture} cannot be split over tensor parallel size {worldSize}: {reason}");
        }
    }

    /// <summary>Every head, feature and vocabulary row is held by exactly the ranks the scheme says (checked, not assumed).</summary>
    private void CheckInvariants()
    {
        var c = Config;
        var group = c.NumHeads / c.NumKvHeads;
        var heads = 0;
        var ff = 0;
        var vocab = 0;
        foreach (var rank in _ranks)
        {
            Check(rank.Heads.Start == heads && rank.Intermediate.Start == ff && rank.Vocab.Start == vocab, "slices must tile in rank order");
            heads = rank.Heads.End;
            ff = rank.Intermediate.End;
            vocab = rank.Vocab.End;

            // Each local query head must read a local KV head: query head h belongs to KV head h / group.
            Check(rank.Heads.Start / group >= rank.KvHeads.Start && (rank.Heads.End - 1) / group < rank.KvHeads.End, "a rank's query heads must use only its KV heads");
            Check(rank.Heads.Start / group == rank.KvHeads.Start && rank.Heads.Length / rank.KvHeads.Length == group / KvReplicas, "local query heads must map onto local KV heads in order");
        }

        Check(heads == c.NumHeads && ff == c.IntermediateSize && vocab == c.VocabSize, "slices must cover the whole tensor");
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"tensor parallel plan: {invariant}");
        }
    }
}
