namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>The Llama-3.1-8B dimensions the kernel harnesses time their layers at (bench/configs/llama-3.1-8b).</summary>
internal static class Llama8BShape
{
    public const int Hidden = 4096;

    /// <summary>The MLP's intermediate size (gate and up each; down's input).</summary>
    public const int Ff = 14336;

    /// <summary>q, k and v together: 32 query heads and 8 KV heads of 128.</summary>
    public const int QkvDim = 6144;

    public const int Vocab = 128256;
}
