using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>vocab_gather.cu against the index arithmetic done on the host, with a padded last rank (vocabularies that do not divide).</summary>
public class VocabGatherKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(1, 1, 512)]
    [InlineData(3, 2, 101)]
    [InlineData(5, 4, 128256)]
    [InlineData(8, 8, 32000)]
    public void Gather_RanksSlices_LaysOutRowsOfTheWholeVocabulary(int rows, int ranks, int vocab)
    {
        Gpu.Require();
        var random = new Random(Gpu.NewSeed());
        var perRank = (vocab + ranks - 1) / ranks;
        var gathered = Enumerable.Range(0, ranks * rows * perRank).Select(_ => random.NextSingle()).ToArray();
        using var kernel = new VocabGatherKernel(gpu.Device, gpu.Compiler);
        using var dGathered = gpu.Upload<float>(gathered);
        using var dLogits = gpu.Allocate<float>(rows * vocab);
        kernel.Gather(gpu.Stream, dGathered.Pointer, dLogits.Pointer, rows, perRank, vocab);
        var logits = gpu.Download<float>(dLogits, rows * vocab);
        for (var row = 0; row < rows; row++)
        {
            for (var v = 0; v < vocab; v++)
            {
                var want = gathered[((((v / perRank) * rows) + row) * perRank) + (v % perRank)];
                if (logits[(row * vocab) + v] != want)
                {
                    Assert.Fail($"row {row}, id {v}: {logits[(row * vocab) + v]} where rank {v / perRank} column {v % perRank} holds {want}");
                }
            }
        }
    }
}
