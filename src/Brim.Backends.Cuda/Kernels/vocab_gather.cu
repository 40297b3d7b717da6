// Tensor parallelism's LM-head logits, put together. Each rank computes the logits of its vocabulary slice, padded to
// per_rank ids, for the step's logit rows; an all-gather stacks them rank after rank: gathered [ranks][rows][per_rank].
// The sampler and the host want [rows][vocab]: id v is rank v / per_rank's column v % per_rank. The padding ids past
// vocab are dropped.
#include "common.cuh"

// grid (ceil(vocab / blockDim.x) capped, rows): consecutive threads write consecutive ids of one row.
extern "C" __global__ void vocab_gather(const float* __restrict__ gathered, float* __restrict__ logits, int rows, int per_rank, int vocab)
{
    const int row = blockIdx.y;
    for (int v = blockIdx.x * blockDim.x + threadIdx.x; v < vocab; v += gridDim.x * blockDim.x)
    {
        const int rank = v / per_rank, column = v - rank * per_rank;
        logits[(u64)row * vocab + v] = gathered[((u64)rank * rows + row) * per_rank + column];
    }
}
