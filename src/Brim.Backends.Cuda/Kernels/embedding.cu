// Token embedding gather into the fp32 residual stream.
#include "common.cuh"

// grid: tokens; x[t, :] = table[token_ids[t] - first_id, :], or zeros where the id is not among the table's `rows` ids
// (a tensor-parallel rank holds the rows of its vocabulary slice: the ranks' outputs sum to the embedding). Ids were
// validated on the host; padded rows carry id 0.
extern "C" __global__ void embedding_gather(const bf16_t* __restrict__ table, const int* __restrict__ token_ids,
                                            float* __restrict__ x, int hidden, int first_id, int rows)
{
    pdl_release(); // the first norm may start (it waits for this kernel); this one is launched plainly, after the step's copies
    const int t = blockIdx.x;
    const int row = token_ids[t] - first_id;
    float* out = x + (u64)t * hidden;
    if (row < 0 || row >= rows)
    {
        for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[i] = 0.0f;
        return;
    }

    const bf16_t* in = table + (u64)row * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[i] = bf16_to_float(in[i]);
}
