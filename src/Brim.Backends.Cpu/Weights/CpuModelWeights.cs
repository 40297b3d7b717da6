using Brim.Models;

namespace Brim.Backends.Cpu.Weights;

/// <summary>All weights of a Llama-family decoder as float32 arrays, read under Hugging Face tensor names.</summary>
internal sealed class CpuModelWeights
{
    private CpuModelWeights(float[] embedding, LayerWeights[] layers, float[] finalNorm, float[] classifier, long bytes)
    {
        Embedding = embedding;
        Layers = layers;
        FinalNorm = finalNorm;
        Classifier = classifier;
        Bytes = bytes;
    }

    /// <summary>[vocab, hidden].</summary>
    public float[] Embedding { get; }

    public LayerWeights[] Layers { get; }

    public float[] FinalNorm { get; }

    /// <summary>[vocab, hidden]; the embedding array itself when the embeddings are tied.</summary>
    public float[] Classifier { get; }

    /// <summary>Host memory the weights take.</summary>
    public long Bytes { get; }

    public static CpuModelWeights Load(ModelConfig config, IWeightSource source)
    {
        var reader = new Reader(source);
        int h = config.HiddenSize, q = config.QueryDim, kv = config.KvDim, ff = config.IntermediateSize, v = config.VocabSize;
        var embedding = reader.Read("model.embed_tokens.weight", v, h);
        var layers = new LayerWeights[config.NumLayers];
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"model.layers.{i}.";
            layers[i] = new LayerWeights(
                AttentionNorm: reader.Read(p + "input_layernorm.weight", h),
                QueryKeyValue: reader.ReadStacked(
                    h,
                    (p + "self_attn.q_proj.weight", q),
                    (p + "self_attn.k_proj.weight", kv),
                    (p + "self_attn.v_proj.weight", kv)),
                QueryKeyValueBias: config.AttentionBias
                    ? reader.ReadStacked(1, (p + "self_attn.q_proj.bias", q), (p + "self_attn.k_proj.bias", kv), (p + "self_attn.v_proj.bias", kv))
                    : null,
                Output: reader.Read(p + "self_attn.o_proj.weight", h, q),
                OutputBias: reader.ReadOptional(p + "self_attn.o_proj.bias", h),
                FeedForwardNorm: reader.Read(p + "post_attention_layernorm.weight", h),
                GateUp: reader.ReadStacked(h, (p + "mlp.gate_proj.weight", ff), (p + "mlp.up_proj.weight", ff)),
                GateUpBias: source.Contains(p + "mlp.gate_proj.bias")
                    ? reader.ReadStacked(1, (p + "mlp.gate_proj.bias", ff), (p + "mlp.up_proj.bias", ff))
                    : null,
                Down: reader.Read(p + "mlp.down_proj.weight", h, ff),
                DownBias: reader.ReadOptional(p + "mlp.down_proj.bias", h));
        }

        var finalNorm = reader.Read("model.norm.weight", h);
        var classifier = config.TieWordEmbeddings ? embedding : reader.Read("lm_head.weight", v, h);
        return new CpuModelWeights(embedding, layers, finalNorm, classifier, reader.Bytes);
    }

    private sealed class Reader(IWeightSource source)
    {
        public long Bytes { get; private set; }

        public float[] Read(string name, params int[] shape)
        {
            var data = Allocate(name, ElementCount(shape));
            ReadInto(name, shape, data);
            return data;
        }

        /// <summary>A bias that some checkpoints of the family carry and others do not.</summary>
        public float[]? ReadOptional(string name, int length) => source.Contains(name) ? Read(name, length) : null;

        /// <summary>
        /// Tensors of shape [rows_i, columns] (or [rows_i] when <paramref name="columns"/> is 1) stacked row-wise into
        /// one [sum rows_i, columns] array.
        /// </summary>
        public float[] ReadStacked(int columns, params (string Name, int Rows)[] parts)
        {
            var data = Allocate(parts[0].Name, parts.Sum(part => (long)part.Rows * columns));
            var offset = 0;
            foreach (var (name, rows) in parts)
            {
                int[] shape = columns == 1 ? [rows] : [rows, columns];
                ReadInto(name, shape, data.AsSpan(offset, rows * columns));
                offset += rows * columns;
            }

            return data;
        }

        private void ReadInto(string name, int[] shape, Span<float> destination)
        {
            var info = source.GetInfo(name);
            if (!info.Shape.SequenceEqual(shape.Select(d => (long)d)))
            {
                throw new ModelLoadException($"tensor {info} does not have the expected shape [{string.Join(", ", shape)}]");
            }

            source.ReadAsFloat32(name, destination);
        }

        private float[] Allocate(string name, long count)
        {
            if (count > Array.MaxLength)
            {
                throw new ModelLoadException($"tensor {name} needs {count} elements, more than one CPU array can hold");
            }

            Bytes += count * sizeof(float);
            return GC.AllocateUninitializedArray<float>((int)count);
        }

        private static long ElementCount(int[] shape) => shape.Aggregate(1L, (a, d) => a * d);
    }
}
