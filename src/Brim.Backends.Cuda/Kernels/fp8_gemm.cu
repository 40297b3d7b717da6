// The kernels around a W8A8 product on cuBLASLt (Execution/Fp8Gemm.cs). cuBLASLt multiplies the E4M3 codes alone
// (fp32 accumulation, no scales: what every sm_89/sm_90 cuBLASLt offers; its per-row and per-token scale modes offered
// no algorithm on the H100 with cuBLAS 13), and since
//     out[t, n] = a_scale[t] · w_scale[n] · Σ_k aq[t, k] · wq[n, k]
// both scales factor out of the sum and are applied here, after it:
//  quantize_tokens_fp8  each activation row to E4M3 with its own scale amax / 448 (dynamic per-token, as vLLM's FP8)
//  fp8_scale_rows       the raw product (bf16, in place) times both scales
//  fp8_scale_silu       the raw gate/up product times both scales, then SwiGLU as swiglu.cu: one pass instead of two
// Widths are multiples of 16 (cuBLASLt's FP8 alignment), so every row is whole 16-byte chunks of bf16 (8 values).
#include "fp8.cuh"

#define THREADS 256

__device__ __forceinline__ uint4 float_to_bf16x8(const float* f)
{
    uint4 o;
    o.x = (unsigned)float_to_bf16(f[0]) | ((unsigned)float_to_bf16(f[1]) << 16);
    o.y = (unsigned)float_to_bf16(f[2]) | ((unsigned)float_to_bf16(f[3]) << 16);
    o.z = (unsigned)float_to_bf16(f[4]) | ((unsigned)float_to_bf16(f[5]) << 16);
    o.w = (unsigned)float_to_bf16(f[6]) | ((unsigned)float_to_bf16(f[7]) << 16);
    return o;
}

// One block per token row of x [rows, k]: codes [rows, k] and scales [rows], as the weights quantized on load
// (quant_convert.cu): the same arithmetic, so the CPU twin matches both bit for bit.
extern "C" __global__ void __launch_bounds__(THREADS) quantize_tokens_fp8(
    const bf16_t* __restrict__ x, unsigned char* __restrict__ codes, float* __restrict__ scales, int k)
{
    __shared__ float scratch[32];
    const float scale = quantize_row_fp8<THREADS>(x + (u64)blockIdx.x * k, codes + (u64)blockIdx.x * k, k, scratch);
    if (threadIdx.x == 0) scales[blockIdx.x] = scale;
}

// y [rows, n] (bf16, the raw product) ← y · token_scales[t] · weight_scales[j]; a thread per 8 outputs.
extern "C" __global__ void __launch_bounds__(THREADS) fp8_scale_rows(
    bf16_t* __restrict__ y, const float* __restrict__ token_scales, const float* __restrict__ weight_scales, int rows, int n)
{
    const int chunksPerRow = n / 8;
    const u64 chunks = (u64)rows * chunksPerRow;
    for (u64 c = (u64)blockIdx.x * blockDim.x + threadIdx.x; c < chunks; c += (u64)gridDim.x * blockDim.x)
    {
        const int t = (int)(c / chunksPerRow);
        const int j = (int)(c - (u64)t * chunksPerRow) * 8;
        const float s = token_scales[t];
        float f[8];
        bf16x8_to_float(reinterpret_cast<const uint4*>(y)[c], f);
#pragma unroll
        for (int i = 0; i < 8; ++i) f[i] *= s * weight_scales[j + i];
        reinterpret_cast<uint4*>(y)[c] = float_to_bf16x8(f);
    }
}

// out [rows, ff] = silu(g) · u with g, u the scaled halves of the raw gate_up product [rows, 2·ff] (gate first, as
// swiglu.cu reads it); weight_scales holds the 2·ff scales of the fused weight's rows. A thread per 8 outputs.
extern "C" __global__ void __launch_bounds__(THREADS) fp8_scale_silu(
    const bf16_t* __restrict__ gate_up, const float* __restrict__ token_scales, const float* __restrict__ weight_scales,
    bf16_t* __restrict__ out, int rows, int ff)
{
    const int chunksPerRow = ff / 8;
    const u64 chunks = (u64)rows * chunksPerRow;
    for (u64 c = (u64)blockIdx.x * blockDim.x + threadIdx.x; c < chunks; c += (u64)gridDim.x * blockDim.x)
    {
        const int t = (int)(c / chunksPerRow);
        const int j = (int)(c - (u64)t * chunksPerRow) * 8;
        const float s = token_scales[t];
        const bf16_t* row = gate_up + (u64)t * 2 * ff;
        float g[8], u[8], o[8];
        bf16x8_to_float(*reinterpret_cast<const uint4*>(row + j), g);
        bf16x8_to_float(*reinterpret_cast<const uint4*>(row + ff + j), u);
#pragma unroll
        for (int i = 0; i < 8; ++i)
        {
            const float gate = g[i] * (s * weight_scales[j + i]);
            const float up = u[i] * (s * weight_scales[ff + j + i]);
            o[i] = gate / (1.0f + __expf(-gate)) * up;
        }
        reinterpret_cast<uint4*>(out)[c] = float_to_bf16x8(o);
    }
}
