using System.Numerics.Tensors;

namespace Brim.Backends.Cpu.Parallel;

/// <summary>
/// The all-reduce of the simulated ranks: every rank's <see cref="ForwardBuffers.Projection"/> becomes the
/// elementwise sum of all of them, added in rank order ((p0 + p1) + p2) + …, so the result is deterministic and every
/// rank holds bitwise the same residual stream afterwards, as NCCL's all-reduce guarantees on GPUs (whose ring order
/// differs from this one: the sum matches to float32 rounding, not bitwise).
/// </summary>
internal static class AllReduce
{
    public static void Sum(IReadOnlyList<DecoderShard> ranks, int length)
    {
        var total = ranks[0].Buffers.Projection.AsSpan(0, length);
        for (var r = 1; r < ranks.Count; r++)
        {
            TensorPrimitives.Add(total, ranks[r].Buffers.Projection.AsSpan(0, length), total);
        }

        for (var r = 1; r < ranks.Count; r++)
        {
            total.CopyTo(ranks[r].Buffers.Projection);
        }
    }
}
