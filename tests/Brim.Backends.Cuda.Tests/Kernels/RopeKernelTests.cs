using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

public class RopeKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Apply_RotatesQueryAndWritesCache_MatchesReference(bool interleaved, bool bias)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new AttentionShape(8, 2, 64, interleaved);
        using var kernel = new RopeKernel(gpu.Device, gpu.Compiler, shape);
        var config = RandomModels.Llama3Like() with { HeadDim = 64, RopeStyle = interleaved ? RopeStyle.Interleaved : RopeStyle.RotateHalf };
        var inverse = RopeFrequencies.Compute(config);
        const int tokens = 6, blockSize = 4, numBlocks = 8;
        int[] positions = [0, 1, 7, 300, 5000, 2];
        int[] slots = [3, 9, 17, -1, 30, 0];
        var qkv = Bf16.Random(random, tokens * shape.QkvDim);
        var biases = bias ? Bf16.Random(random, shape.QkvDim, 0.5f) : null;

        using var dQkv = gpu.Upload<ushort>(Bf16.ToBits(qkv));
        using var dBias = biases is null ? null : gpu.Upload<ushort>(Bf16.ToBits(biases));
        using var dPos = gpu.Upload<int>(positions);
        using var dSlots = gpu.Upload<int>(slots);
        using var dFreq = gpu.Upload<float>(inverse);
        var cacheElements = numBlocks * blockSize * shape.KvDim;
        using var dK = gpu.Allocate<ushort>(cacheElements);
        using var dV = gpu.Allocate<ushort>(cacheElements);
        kernel.Apply(gpu.Stream, dQkv.Pointer, dBias?.Pointer ?? 0, dPos.Pointer, dSlots.Pointer, dFreq.Pointer, dK.Pointer, dV.Pointer, tokens, blockSize);
        var outQkv = Bf16.FromBits(gpu.Download<ushort>(dQkv, tokens * shape.QkvDim));
        var kCache = gpu.Download<ushort>(dK, cacheElements);
        var vCache = Bf16.FromBits(gpu.Download<ushort>(dV, cacheElements));

        for (var t = 0; t < tokens; t++)
        {
            var row = qkv.AsSpan(t * shape.QkvDim, shape.QkvDim).ToArray();
            if (biases is not null)
            {
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] += biases[i];
                }
            }

            for (var head = 0; head < shape.NumHeads + shape.NumKvHeads; head++)
            {
                KernelReferences.Rotate(row.AsSpan(head * 64, 64), positions[t], inverse, interleaved);
            }

            Compare.Close(outQkv.AsSpan(t * shape.QkvDim, shape.QueryDim), row.AsSpan(0, shape.QueryDim), 1e-2, $"q of token {t} (seed {seed})");
            if (slots[t] < 0)
            {
                continue;
            }

            int block = slots[t] / blockSize, offset = slots[t] % blockSize;
            for (var kh = 0; kh < shape.NumKvHeads; kh++)
            {
                var at = (((block * shape.NumKvHeads) + kh) * blockSize + offset) * 64;
                Compare.Close(Bf16.FromBits(kCache.AsSpan(at, 64)), row.AsSpan(shape.QueryDim + (kh * 64), 64), 1e-2, $"k of token {t} (seed {seed})");
                Compare.Close(vCache.AsSpan(at, 64), row.AsSpan(shape.QueryDim + shape.KvDim + (kh * 64), 64), 1e-2, $"v of token {t} (seed {seed})");
            }
        }

        // Slot -1 wrote nothing: exactly 5 tokens' worth of cache rows left the 0xFFFF poison.
        var written = kCache.Count(v => v != 0xFFFF);
        Assert.Equal(5 * shape.KvDim, written);
    }
}
