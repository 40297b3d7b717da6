using Brim.Models.Parallel;

namespace Brim.Models.Tests.Parallel;

public sealed class TensorParallelPlanTests
{
    /// <summary>The bundled stories260K's shape: 8 heads, 4 KV heads, intermediate 172 (= 4 × 43, so not 8-way), vocab 512.</summary>
    private static readonly ModelConfig Stories = new()
    {
        Architecture = "llama2.c",
        HiddenSize = 64,
        IntermediateSize = 172,
        NumLayers = 5,
        NumHeads = 8,
        NumKvHeads = 4,
        HeadDim = 8,
        VocabSize = 512,
        MaxPositions = 512,
        TieWordEmbeddings = true,
    };

    [Fact]
    public void Create_StoriesOverFourRanks_SplitsHeadsKvHeadsMlpAndVocabulary()
    {
        var plan = TensorParallelPlan.Create(Stories, 4);

        Assert.Equal(1, plan.KvReplicas);
        var rank = plan.Ranks[3];
        Assert.Equal(new IndexRange(6, 2), rank.Heads);
        Assert.Equal(new IndexRange(3, 1), rank.KvHeads);
        Assert.Equal(new IndexRange(129, 43), rank.Intermediate);
        Assert.Equal(new IndexRange(384, 128), rank.Vocab);
        Assert.Equal((2, 1, 43, 128, 64), (rank.RankConfig.NumHeads, rank.RankConfig.NumKvHeads, rank.RankConfig.IntermediateSize, rank.RankConfig.VocabSize, rank.RankConfig.HiddenSize));
    }

    [Fact]
    public void Create_MoreRanksThanKvHeads_ReplicatesEachKvHeadOnTheRanksOfItsQueryGroup()
    {
        var plan = TensorParallelPlan.Create(Stories with { IntermediateSize = 176, NumKvHeads = 2 }, 8);

        Assert.Equal(4, plan.KvReplicas);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], plan.Ranks.Select(r => r.KvHeads.Start));
        Assert.All(plan.Ranks, r => Assert.Equal((r.Rank, 1, 1), (r.Heads.Start, r.Heads.Length, r.KvHeads.Length)));
    }

    [Fact]
    public void Create_VocabularyNotDivisible_GivesTheLastRankTheRemainder()
    {
        var plan = TensorParallelPlan.Create(Stories with { VocabSize = 101 }, 4);

        Assert.Equal(26, plan.PaddedVocabPerRank);
        Assert.Equal([26, 26, 26, 23], plan.Ranks.Select(r => r.Vocab.Length));
    }

    [Theory]
    [InlineData(8, 4, 172, 512, 3, "num_attention_heads (8) is not divisible")]
    [InlineData(8, 4, 172, 512, 8, "intermediate_size (172) is not divisible")]
    [InlineData(12, 6, 48, 512, 4, "num_key_value_heads (6) neither divides by it nor divides it")]
    [InlineData(12, 2, 48, 512, 3, "num_key_value_heads (2) neither divides by it nor divides it")]
    [InlineData(4, 4, 8, 9, 4, "vocab_size (9) split in 3 rows per rank leaves the last rank none")]
    public void Create_ShapeThatDoesNotSplit_IsRefusedNamingTheField(int heads, int kvHeads, int intermediate, int vocab, int ranks, string reason)
    {
        var config = Stories with { NumHeads = heads, NumKvHeads = kvHeads, IntermediateSize = intermediate, VocabSize = vocab };

        var error = Assert.Throws<ModelLoadException>(() => TensorParallelPlan.Create(config, ranks));

        Assert.StartsWith($"llama2.c cannot be split over tensor parallel size {ranks}: {reason}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ZeroRanks_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorParallelPlan.Create(Stories, 0));

    [Fact]
    public void SliceOf_LayerTensors_AreRowsColumnsReplicatedOrOnRankZero()
    {
        var plan = TensorParallelPlan.Create(Stories with { AttentionOutputBias = true }, 2);
        var (first, second) = (plan.Ranks[0], plan.Ranks[1]);
        TensorInfo Info(string name, params long[] shape) => new(name, TensorDType.BF16, shape);

        var query = second.SliceOf(Info("model.layers.1.self_attn.q_proj.weight", 64, 64));
        Assert.Equal((SliceKind.Rows, new IndexRange(32, 32)), Kind(query));
        Assert.Equal([32L, 64L], query.Shape);
        Assert.Equal((SliceKind.Rows, new IndexRange(16, 16)), Kind(second.SliceOf(Info("model.layers.0.self_attn.v_proj.bias", 32))));
        Assert.Equal((SliceKind.Columns, new IndexRange(32, 32)), Kind(second.SliceOf(Info("model.layers.4.self_attn.o_proj.weight", 64, 64))));
        Assert.Equal((SliceKind.Columns, new IndexRange(86, 86)), Kind(second.SliceOf(Info("model.layers.4.mlp.down_proj.weight", 64, 172))));
        Assert.Equal((SliceKind.Rows, new IndexRange(0, 86)), Kind(first.SliceOf(Info("model.layers.2.mlp.up_proj.weight", 172, 64))));
        Assert.Equal((SliceKind.Rows, new IndexRange(256, 256)), Kind(second.SliceOf(Info("lm_head.weight", 512, 64))));
        Assert.Equal(SliceKind.Replicated, second.SliceOf(Info("model.layers.3.post_attention_layernorm.weight", 64)).Kind);
        Assert.Equal(SliceKind.Replicated, first.SliceOf(Info("model.layers.3.self_attn.o_proj.bias", 64)).Kind);
        Assert.Equal(SliceKind.Absent, second.SliceOf(Info("model.layers.3.self_attn.o_proj.bias", 64)).Kind);
        var unknown = Assert.Throws<ModelLoadException>(() => first.SliceOf(Info("model.layers.0.self_attn.q_proj.qweight", 8, 64)));
        Assert.Contains("has no tensor-parallel layout", unknown.Message, StringComparison.Ordinal);
    }

    private static (SliceKind, IndexRange) Kind(TensorSlice slice) => (slice.Kind, slice.Range);
}
