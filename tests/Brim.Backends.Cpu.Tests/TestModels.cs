using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>Small configs covering the Llama family's variations, and helpers to build backends on random weights.</summary>
public static class TestModels
{
    /// <summary>llama2.c: interleaved rope, GQA, tied classifier.</summary>
    public static readonly ModelConfig Llama2c = new()
    {
        Architecture = "llama2.c",
        HiddenSize = 32,
        IntermediateSize = 48,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        HeadDim = 8,
        VocabSize = 64,
        MaxPositions = 64,
        RopeStyle = RopeStyle.Interleaved,
        TieWordEmbeddings = true,
    };

    /// <summary>Llama 3.1: rotate-half rope with llama3 scaling whose bands all hit some frequency, GQA 4:1, untied.</summary>
    public static readonly ModelConfig Llama31 = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 64,
        IntermediateSize = 96,
        NumLayers = 2,
        NumHeads = 8,
        NumKvHeads = 2,
        HeadDim = 16,
        VocabSize = 80,
        MaxPositions = 128,
        RopeTheta = 10000,
        RopeScaling = new Llama3RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 256),
        RopeStyle = RopeStyle.RotateHalf,
    };

    /// <summary>Qwen2: q/k/v biases, a single KV head, tied, sizes that are not multiples of the vector width.</summary>
    public static readonly ModelConfig Qwen2 = new()
    {
        Architecture = "Qwen2ForCausalLM",
        HiddenSize = 44,
        IntermediateSize = 53,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 1,
        HeadDim = 10,
        VocabSize = 101,
        MaxPositions = 96,
        RmsNormEps = 1e-6f,
        RopeTheta = 1000000,
        AttentionBias = true,
        TieWordEmbeddings = true,
    };

    /// <summary>Mistral: plain multi-head attention (no grouping), rotate-half, untied, head dim larger than hidden / heads.</summary>
    public static readonly ModelConfig Mistral = new()
    {
        Architecture = "MistralForCausalLM",
        HiddenSize = 48,
        IntermediateSize = 64,
        NumLayers = 3,
        NumHeads = 3,
        NumKvHeads = 3,
        HeadDim = 24,
        VocabSize = 70,
        MaxPositions = 96,
        RopeTheta = 1000000,
    };

    public static TheoryData<string> Names => new() { nameof(Llama2c), nameof(Llama31), nameof(Qwen2), nameof(Mistral) };

    public static ModelConfig ByName(string name) => name switch
    {
        nameof(Llama2c) => Llama2c,
        nameof(Llama31) => Llama31,
        nameof(Qwen2) => Qwen2,
        nameof(Mistral) => Mistral,
        _ => throw new ArgumentException(name),
    };

    public static LoadedModel Random(ModelConfig config, int seed = 7) => new(config, new RandomWeightSource(config, seed), "random");

    public static int[] RandomTokens(Random random, int count, int vocab) =>
        Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
}
