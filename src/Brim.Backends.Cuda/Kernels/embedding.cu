// Token embedding gather into the fp32 residual stream.
#include "common.cuh"

// grid: tokens; x[t, :] = table[token_ids[t], :]. Ids were validated on the host; padded rows carry id 0.
extern "C" __global__ void embedding_gather(const bf16_t* __restrict__ table, const int* __restrict__ token_ids,
                                            float* __restrict__ x, int hidden)
{
    pdl_release(); // the first norm may start (it waits for this kernel); this one is launched plainly, after the step's copies
    const int t = blockIdx.x;
    const bf16_t* row = table + (u64)token_ids[t] * hidden;
    float* out = x + (u64)t * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[i] = bf16_to_float(row[i]);
}
