using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>Small Llama-family models with random weights (fresh every run unless a seed is given).</summary>
internal static class RandomModels
{
    /// <summary>Llama 3 style: GQA 4:2, rotate-half rope with llama3 scaling, untied output projection.</summary>
    public static ModelConfig Llama3Like() => new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 128,
        IntermediateSize = 256,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        HeadDim = 32,
        VocabSize = 384,
        MaxPositions = 1024,
        RopeTheta = 500000,
        RopeScaling = new Llama3RopeScaling(8.0, 1.0, 4.0, 64),
        RopeStyle = RopeStyle.RotateHalf,
    };

    /// <summary>Qwen2 style: q/k/v biases, tied embeddings, head_dim 64, GQA 4:1.</summary>
    public static ModelConfig Qwen2Like() => new()
    {
        Architecture = "Qwen2ForCausalLM",
        HiddenSize = 256,
        IntermediateSize = 384,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 1,
        HeadDim = 64,
        VocabSize = 320,
        MaxPositions = 1024,
        RopeTheta = 1000000,
        AttentionBias = true,
        TieWordEmbeddings = true,
        RmsNormEps = 1e-6f,
    };

    /// <summary>llama2.c style: interleaved rope, head_dim 16 (not a multiple of 32), MHA.</summary>
    public static ModelConfig Llama2cLike() => new()
    {
        Architecture = "llama2.c",
        HiddenSize = 64,
        IntermediateSize = 96,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 4,
        HeadDim = 16,
        VocabSize = 200,
        MaxPositions = 512,
        RopeStyle = RopeStyle.Interleaved,
        TieWordEmbeddings = true,
    };

    public static InMemoryWeightSource Create(ModelConfig c, Random random, TensorDType dtype = TensorDType.BF16)
    {
        var source = new InMemoryWeightSource();
        long h = c.HiddenSize, q = c.QueryDim, kv = c.KvDim, ff = c.IntermediateSize, v = c.VocabSize;
        void Matrix(string name, long rows, long cols) => source.Add(name, dtype, [rows, cols], Values(random, rows * cols, 1f / MathF.Sqrt(cols)));
        void Norm(string name) => source.Add(name, dtype, [h], Values(random, h, 0.2f, 1f));
        for (var l = 0; l < c.NumLayers; l++)
        {
            Norm(LlamaTensorNames.InputNorm(l));
            Norm(LlamaTensorNames.PostAttentionNorm(l));
            Matrix(LlamaTensorNames.QueryWeight(l), q, h);
            Matrix(LlamaTensorNames.KeyWeight(l), kv, h);
            Matrix(LlamaTensorNames.ValueWeight(l), kv, h);
            Matrix(LlamaTensorNames.OutputWeight(l), h, q);
            Matrix(LlamaTensorNames.GateWeight(l), ff, h);
            Matrix(LlamaTensorNames.UpWeight(l), ff, h);
            Matrix(LlamaTensorNames.DownWeight(l), h, ff);
            if (c.AttentionBias)
            {
                source.Add(LlamaTensorNames.QueryBias(l), dtype, [q], Values(random, q, 0.5f));
                source.Add(LlamaTensorNames.KeyBias(l), dtype, [kv], Values(random, kv, 0.5f));
                source.Add(LlamaTensorNames.ValueBias(l), dtype, [kv], Values(random, kv, 0.5f));
            }
        }

        Matrix(LlamaTensorNames.Embedding, v, h);
        Norm(LlamaTensorNames.FinalNorm);
        if (!c.TieWordEmbeddings)
        {
            Matrix(LlamaTensorNames.LmHead, v, h);
        }

        return source;
    }

    private static float[] Values(Random random, long count, float scale, float offset = 0f)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = offset + (((random.NextSingle() * 2f) - 1f) * scale);
        }

        return values;
    }
}
