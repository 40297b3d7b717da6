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

    [Theory]
    [InlineData(false, 64)]
    [InlineData(true, 128)]
    public void Apply_Fp8Cache_QuantizesEachHeadVectorWithItsOwnScale(bool bias, int headDim)
    {
        Assert.SkipWhen(gpu.Device.ComputeCapability < CudaBackend.MinFp8ComputeCapability, "FP8 needs sm_89+");
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new AttentionShape(8, 2, headDim, false, KvFp8: true);
        using var kernel = new RopeKernel(gpu.Device, gpu.Compiler, shape);
        var config = RandomModels.Llama3Like() with { HeadDim = headDim, RopeStyle = RopeStyle.RotateHalf };
        var inverse = RopeFrequencies.Compute(config);
        const int tokens = 5, blockSize = 4, numBlocks = 8;
        int[] positions = [0, 3, 300, 9, 4000];
        int[] slots = [3, 9, -1, 17, 30];
        var qkv = Bf16.Random(random, tokens * shape.QkvDim, 3f);
        var zeroHeadToken = 3; // an all-zero V head vector must stay zero (scale 0), not NaN
        qkv.AsSpan((zeroHeadToken * shape.QkvDim) + shape.QueryDim + shape.KvDim, headDim).Clear();
        var biases = bias ? Bf16.Random(random, shape.QkvDim, 0.5f) : null;
        if (biases is not null)
        {
            biases.AsSpan(shape.QueryDim + shape.KvDim, headDim).Clear();
        }

        using var dQkv = gpu.Upload<ushort>(Bf16.ToBits(qkv));
        using var dBias = biases is null ? null : gpu.Upload<ushort>(Bf16.ToBits(biases));
        using var dPos = gpu.Upload<int>(positions);
        using var dSlots = gpu.Upload<int>(slots);
        using var dFreq = gpu.Upload<float>(inverse);
        var segment = shape.NumKvHeads * blockSize * shape.KvBytesPerHeadPosition;
        using var dK = gpu.Allocate<byte>(numBlocks * segment);
        using var dV = gpu.Allocate<byte>(numBlocks * segment);
        gpu.Stream.Fill(dK.Pointer, 0xFF, numBlocks * segment);
        gpu.Stream.Fill(dV.Pointer, 0xFF, numBlocks * segment);
        kernel.Apply(gpu.Stream, dQkv.Pointer, dBias?.Pointer ?? 0, dPos.Pointer, dSlots.Pointer, dFreq.Pointer, dK.Pointer, dV.Pointer, tokens, blockSize);
        var kBytes = gpu.Download<byte>(dK, numBlocks * segment);
        var vBytes = gpu.Download<byte>(dV, numBlocks * segment);
        var kStored = KvCacheImage.Read(kBytes, shape, numBlocks, blockSize);
        var vStored = KvCacheImage.Read(vBytes, shape, numBlocks, blockSize);

        int vectors = 0, sameCodes = 0, codes = 0;
        for (var t = 0; t < tokens; t++)
        {
            if (slots[t] < 0)
            {
                continue;
            }

            var row = qkv.AsSpan(t * shape.QkvDim, shape.QkvDim).ToArray();
            if (biases is not null)
            {
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] += biases[i];
                }
            }

            for (var head = shape.NumHeads; head < shape.NumHeads + shape.NumKvHeads; head++)
            {
                KernelReferences.Rotate(row.AsSpan(head * headDim, headDim), positions[t], inverse, false);
            }

            int block = slots[t] / blockSize, offset = slots[t] % blockSize;
            for (var kh = 0; kh < shape.NumKvHeads; kh++)
            {
                var logical = (((block * shape.NumKvHeads) + kh) * blockSize + offset) * headDim;
                foreach (var (stored, bytes, source) in new[] { (kStored, kBytes, shape.QueryDim), (vStored, vBytes, shape.QueryDim + shape.KvDim) })
                {
                    var expected = row.AsSpan(source + (kh * headDim), headDim);
                    var actual = stored.AsSpan(logical, headDim);
                    vectors++;
                    if (t == zeroHeadToken && source != shape.QueryDim && kh == 0)
                    {
                        Assert.All(actual.ToArray(), v => Assert.Equal(0f, v));
                        continue;
                    }

                    // E4M3 keeps 3 mantissa bits: about 2-3 % relative L2 error on a head vector.
                    Compare.Close(actual, expected, 4e-2, $"fp8 {(source == shape.QueryDim ? "k" : "v")} of token {t} head {kh} (seed {seed})");
                    var (referenceCodes, _) = Fp8.QuantizeVector(expected);
                    var at = (block * segment) + ((kh * blockSize) + offset) * headDim;
                    for (var d = 0; d < headDim; d++, codes++)
                    {
                        sameCodes += bytes[at + d] == referenceCodes[d] ? 1 : 0;
                    }
                }
            }
        }

        Assert.Equal(4 * 2 * shape.NumKvHeads, vectors);

        // The device rounds exactly as the format says (nearest, ties to even); only values whose rotation differs in
        // the last float bit between host and device may land on the neighbouring code.
        Assert.True(sameCodes >= codes * 0.98, $"{sameCodes} of {codes} E4M3 codes equal the host's (seed {seed})");

        // Slot -1 wrote nothing: the codes of 4 tokens replaced the 0xFF poison (a NaN code, never written), the rest is untouched.
        var dataWritten = Enumerable.Range(0, numBlocks).Sum(b => kBytes.AsSpan(b * segment, shape.NumKvHeads * blockSize * headDim).ToArray().Count(x => x != 0xFF));
        Assert.Equal(4 * shape.KvDim, dataWritten);
    }
}
