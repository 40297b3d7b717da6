namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launch-shape helpers shared by the launchers.</summary>
internal static class Launch
{
    /// <summary>Blocks for a grid-stride loop over <paramref name="elements"/> with <paramref name="threads"/> per block.</summary>
    public static int GridStrideBlocks(long elements, int threads = 256)
        => (int)Math.Clamp((elements + threads - 1) / threads, 1, 8192);

    /// <summary>Threads for a row kernel: enough warps to cover <paramref name="width"/> once, within [32, max].</summary>
    public static int RowThreads(int width, int max = 1024)
        => Math.Clamp((width + 31) / 32 * 32, 32, max);

    public static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
        }
    }
}
