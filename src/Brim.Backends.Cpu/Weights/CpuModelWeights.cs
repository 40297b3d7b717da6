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
                Query: reader.Read(p + "self_attn.q_proj.weight", q, h),
                Key: reader.Read(p + "self_attn.k_proj.weight", kv, h),
                Value: reader.Read(p + "self_attn.v_proj.weight", kv, h),
                QueryBias: config.AttentionBias ? reader.Read(p + "self_attn.q_proj.bias", q) : null,
                KeyBias: config.AttentionBias ? reader.Read(p + "self_attn.k_proj.bias", kv) : null,
                ValueBias: config.AttentionBias ? reader.Read(p + "self_attn.v_proj.bias", kv) : null,
                Output: reader.Read(p + "self_attn.o_proj.weight", h, q),
                FeedForwardNorm: reader.Read(p + "post_attention_layernorm.weight", h),
                Gate: reader.Read(p + "mlp.gate_proj.weight", ff, h),
                Up: reader.Read(p + "mlp.up_proj.weight", ff, h),
                Down: reader.Read(p + "mlp.down_proj.weight", h, ff));
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
            var info = source.GetInfo(name);
            if (!info.Shape.SequenceEqual(shape.Select(d => (long)d)))
            {
                throw new ModelLoadException($"tensor {info} does not have the expected shape [{string.Join(", ", shape)}]");
            }

            var count = info.ElementCount;
            if (count > Array.MaxLength)
            {
                throw new ModelLoadException($"tensor {info} has {count} elements, more than one CPU array can hold");
            }

            var data = GC.AllocateUninitializedArray<float>((int)count);
            source.ReadAsFloat32(name, data);
            Bytes += count * sizeof(float);
            return data;
        }
    }
}
