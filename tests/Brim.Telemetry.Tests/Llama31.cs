using Brim.Models;

namespace Brim.Telemetry.Tests;

/// <summary>The Llama-3.1-8B shape (config.json of meta-llama/Llama-3.1-8B), the reference of the hand-computed tests.</summary>
internal static class Llama31
{
    public static ModelConfig Config8B { get; } = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 4096,
        IntermediateSize = 14336,
        NumLayers = 32,
        NumHeads = 32,
        NumKvHeads = 8,
        HeadDim = 128,
        VocabSize = 128256,
        MaxPositions = 131072,
        WeightDType = TensorDType.BF16,
    };
}
