using Brim.Models.Parallel;

namespace Brim.Models.Tests.Parallel;

public sealed class PaddedVocabularySourceTests
{
    /// <summary>
    /// stories260K's vocabulary of 512 over 3 ranks: 171 rows a rank, the last rank holds 170 and gets one zero row, as
    /// floats and as stored bytes (also a read that straddles the end of the real rows); other tensors pass through.
    /// </summary>
    [Fact]
    public void Reads_LastRankOfThree_PadsTheEmbeddingWithZeroRows()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var config = model.Config with { NumHeads = 6, NumKvHeads = 3, HeadDim = 8, HiddenSize = 48, IntermediateSize = 171 };
        var plan = TensorParallelPlan.Create(config, 3);
        Assert.Equal(171, plan.PaddedVocabPerRank);
        var last = plan.Ranks[2];
        Assert.Equal(170, last.Vocab.Length);

        var full = new float[model.Weights.GetInfo(LlamaTensorNames.Embedding).ElementCount];
        model.Weights.ReadAsFloat32(LlamaTensorNames.Embedding, full);
        var width = (int)model.Weights.GetInfo(LlamaTensorNames.Embedding).Shape[1];
        using var padded = new PaddedVocabularySource(new RowsOnlyEmbedding(model.Weights, last), last);
        Assert.Equal(171, padded.PaddedConfig.VocabSize);
        Assert.Equal([171L, width], padded.GetInfo(LlamaTensorNames.Embedding).Shape);

        var values = new float[171 * width];
        padded.ReadAsFloat32(LlamaTensorNames.Embedding, values);
        Assert.True(values.AsSpan(0, 170 * width).SequenceEqual(full.AsSpan(342 * width, 170 * width)), "the real rows are the rank's rows");
        Assert.All(values[(170 * width)..], v => Assert.Equal(0f, v));

        var info = padded.GetInfo(LlamaTensorNames.Embedding);
        var bytes = new byte[info.ByteCount];
        padded.ReadRaw(LlamaTensorNames.Embedding, 0, bytes);
        var element = info.DType.ByteSize();
        Assert.All(bytes[(170 * width * element)..], b => Assert.Equal(0, b));
        var straddle = new byte[3 * width * element]; // rows 168, 169 (real) and 170 (padding)
        padded.ReadRaw(LlamaTensorNames.Embedding, 168L * width * element, straddle);
        Assert.Equal(bytes.AsSpan(168 * width * element, straddle.Length).ToArray(), straddle);

        Assert.Equal(model.Weights.GetInfo(LlamaTensorNames.FinalNorm), padded.GetInfo(LlamaTensorNames.FinalNorm));
    }

    /// <summary>A rank's source holding embedding rows that are not the rank's is refused by name.</summary>
    [Fact]
    public void Create_EmbeddingOfTheWrongRows_IsRefused()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var plan = TensorParallelPlan.Create(model.Config, 2);
        var refused = Assert.Throws<ModelLoadException>(() => new PaddedVocabularySource(model.Weights, plan.Ranks[0]));
        Assert.Contains(LlamaTensorNames.Embedding, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>The embedding rows of a rank, every other tensor whole: the shape stories260K's odd split needs (its heads do not divide by 3).</summary>
    private sealed class RowsOnlyEmbedding(IWeightSource full, RankShard shard) : IWeightSource
    {
        private readonly long _width = full.GetInfo(LlamaTensorNames.Embedding).Shape[1];

        public IReadOnlyCollection<TensorInfo> Tensors => [.. full.Tensors.Select(t => GetInfo(t.Name))];

        public int? DummySeed => null;

        public bool Contains(string name) => full.Contains(name);

        public TensorInfo GetInfo(string name) => name == LlamaTensorNames.Embedding
            ? full.GetInfo(name) with { Shape = [shard.Vocab.Length, _width] }
            : full.GetInfo(name);

        public void ReadRaw(string name, long byteOffset, Span<byte> destination)
        {
            var offset = name == LlamaTensorNames.Embedding ? shard.Vocab.Start * _width * full.GetInfo(name).DType.ByteSize() : 0;
            full.ReadRaw(name, offset + byteOffset, destination);
        }

        public void ReadAsFloat32(string name, Span<float> destination)
        {
            var all = new float[full.GetInfo(name).ElementCount];
            full.ReadAsFloat32(name, all);
            var start = name == LlamaTensorNames.Embedding ? (int)(shard.Vocab.Start * _width) : 0;
            all.AsSpan(start, destination.Length).CopyTo(destination);
        }

        public void Dispose()
        {
        }
    }
}
