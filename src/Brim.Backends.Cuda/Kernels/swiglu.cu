// SwiGLU: out = silu(gate) * up, where each row of gate_up is [gate (ff) | up (ff)] (the fused gate/up projection).
#include "common.cuh"

extern "C" __global__ void silu_mul(const bf16_t* __restrict__ gate_up, bf16_t* __restrict__ out, int tokens, int ff)
{
    const u64 n = (u64)tokens * ff;
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
    {
        const u64 t = i / ff, j = i - t * ff;
        const float g = bf16_to_float(gate_up[t * 2 * ff + j]);
        const float u = bf16_to_float(gate_up[t * 2 * ff + ff + j]);
        out[i] = float_to_bf16(g / (1.0f + __expf(-g)) * u);
    }
}
