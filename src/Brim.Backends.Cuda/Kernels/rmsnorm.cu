// RMSNorm fused with the residual add: x += delta (fp32 residual stream), out = bf16(x / rms(x) * weight).
#include "common.cuh"

// grid: output rows. Row r of the output reads residual row (row_map ? row_map[r] : r), so the final norm can
// run over the sampled rows only. delta may be null (first layer: the residual is the embedding itself).
extern "C" __global__ void add_rmsnorm(float* __restrict__ x, const bf16_t* __restrict__ delta,
                                       const bf16_t* __restrict__ weight, bf16_t* __restrict__ out,
                                       const int* __restrict__ row_map, int hidden, float eps)
{
    __shared__ float scratch[32];
    pdl_wait_and_release(); // launched programmatically (common.cuh)
    const int r = blockIdx.x;
    const int src = row_map ? row_map[r] : r;
    float* xr = x + (u64)src * hidden;
    const bf16_t* dr = delta ? delta + (u64)src * hidden : 0;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    {
        float v = xr[i];
        if (dr) { v += bf16_to_float(dr[i]); xr[i] = v; }
        ss += v * v;
    }
    const float inv = rsqrtf(block_sum(ss, scratch) / (float)hidden + eps);
    bf16_t* o = out + (u64)r * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) o[i] = float_to_bf16(xr[i] * inv * bf16_to_float(weight[i]));
}
