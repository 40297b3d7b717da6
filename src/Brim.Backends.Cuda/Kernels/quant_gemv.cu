// Weight-only quantized linear layers for decode steps of few token rows (M <= 8): y[m, n] = sum_k x[m, k] * w[n, k]
// with w in one of quant.cuh's layouts (QUANT_FORMAT, set by the launcher), dequantized in registers and multiplied
// with the bf16 activations in fp32. As gemv.cu: a decode step at small batch streams weights, so every lane loads
// 16 consecutive bytes of a weight row (32 lanes: 512 contiguous bytes a load), weights bypass L1, activations go
// through it. Unlike gemv.cu a warp owns ROWS weight rows (4 for int4, 2 for 8-bit formats): one activation load then
// serves ROWS rows, which keeps L1 traffic per weight byte (16-32 activation bytes per int4 chunk) within what L1 serves.
//
// Modes as gemv.cu: BF16 / F32 write y; RESIDUAL adds into the fp32 residual stream; the *_gated entries compute
// silu(x · gate) * (x · up) from a [2·outputs, k] matrix (gate rows, then up rows).
#include "quant.cuh"

#ifndef QUANT_FORMAT
#define QUANT_FORMAT FMT_INT4
#endif

#define WARPS 8
#define MODE_BF16 0
#define MODE_F32 1
#define MODE_RESIDUAL 3
#define IPC (QuantTraits<QUANT_FORMAT>::IPC)
#define WEIGHT_ROWS (QUANT_FORMAT == FMT_INT4 ? 4 : 2)

__device__ __forceinline__ uint4 qgemv_load_weights(const uint4* p)
{
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ uint4 qgemv_load_activations(const uint4* p)
{
    uint4 v;
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

// GATED: the warp's WEIGHT_ROWS rows are OUT gate rows and OUT up rows; otherwise WEIGHT_ROWS output rows.
template <int M, bool GATED>
__device__ __forceinline__ void qgemv(
    const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x, void* __restrict__ y,
    int outputs, int k, int group, int mode)
{
    constexpr int ROWS = WEIGHT_ROWS;
    constexpr int OUT = GATED ? ROWS / 2 : ROWS;
    const int lane = threadIdx.x & 31;
    const int n0 = (blockIdx.x * WARPS + (threadIdx.x >> 5)) * OUT;
    if (n0 >= outputs) return; // warp-uniform; the launcher checks outputs % OUT == 0

    int row[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) row[r] = GATED && r >= OUT ? outputs + n0 + (r - OUT) : n0 + r;

    const int chunks = k / IPC, groups = k / group, xchunks = k >> 3;
    const uint4* ws = reinterpret_cast<const uint4*>(w);
    const uint4* xs = reinterpret_cast<const uint4*>(x);
    float acc[ROWS][M];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
        for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;

    for (int c = lane; c < chunks; c += 32)
    {
        uint4 wv[ROWS];
        QuantScale sc[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r) wv[r] = qgemv_load_weights(ws + (u64)row[r] * chunks + c);
        const int g = (c * IPC) / group;
#pragma unroll
        for (int r = 0; r < ROWS; ++r) sc[r] = quant_scale<QUANT_FORMAT>(scales, row[r], g, groups);
#pragma unroll
        for (int part = 0; part < IPC / 8; ++part)
        {
            float wf[ROWS][8];
#pragma unroll
            for (int r = 0; r < ROWS; ++r) quant_decode8<QUANT_FORMAT>(wv[r], part, sc[r], wf[r]);
#pragma unroll
            for (int m = 0; m < M; ++m)
            {
                const uint4 xv = qgemv_load_activations(xs + (u64)m * xchunks + c * (IPC / 8) + part);
                float xf[8];
                xf[0] = __uint_as_float(xv.x << 16); xf[1] = __uint_as_float(xv.x & 0xffff0000u);
                xf[2] = __uint_as_float(xv.y << 16); xf[3] = __uint_as_float(xv.y & 0xffff0000u);
                xf[4] = __uint_as_float(xv.z << 16); xf[5] = __uint_as_float(xv.z & 0xffff0000u);
                xf[6] = __uint_as_float(xv.w << 16); xf[7] = __uint_as_float(xv.w & 0xffff0000u);
#pragma unroll
                for (int r = 0; r < ROWS; ++r)
#pragma unroll
                    for (int j = 0; j < 8; ++j) acc[r][m] = fmaf(wf[r][j], xf[j], acc[r][m]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
        for (int m = 0; m < M; ++m) acc[r][m] = warp_sum(acc[r][m]);

    // Lane m writes row m (every lane holds every sum after the butterfly reduction).
#pragma unroll
    for (int m = 0; m < M; ++m)
    {
        if (lane != m) continue;
#pragma unroll
        for (int r = 0; r < OUT; ++r)
        {
            const u64 at = (u64)m * outputs + n0 + r;
            if (GATED)
            {
                const float gate = acc[r][m];
                ((bf16_t*)y)[at] = float_to_bf16(gate / (1.0f + __expf(-gate)) * acc[OUT + r][m]);
            }
            else if (mode == MODE_F32) ((float*)y)[at] = acc[r][m];
            else if (mode == MODE_RESIDUAL) ((float*)y)[at] += acc[r][m];
            else ((bf16_t*)y)[at] = float_to_bf16(acc[r][m]);
        }
    }
}

#define QGEMV_ENTRY(M)                                                                                                 \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_gemv_##M(                                             \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        void* __restrict__ y, int outputs, int k, int group, int mode)                                                 \
    {                                                                                                                  \
        qgemv<M, false>(w, scales, x, y, outputs, k, group, mode);                                                     \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_gemv_gated_##M(                                       \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        void* __restrict__ y, int outputs, int k, int group, int mode)                                                 \
    {                                                                                                                  \
        qgemv<M, true>(w, scales, x, y, outputs, k, group, mode);                                                      \
    }

QGEMV_ENTRY(1)
QGEMV_ENTRY(2)
QGEMV_ENTRY(3)
QGEMV_ENTRY(4)
QGEMV_ENTRY(5)
QGEMV_ENTRY(6)
QGEMV_ENTRY(7)
QGEMV_ENTRY(8)
