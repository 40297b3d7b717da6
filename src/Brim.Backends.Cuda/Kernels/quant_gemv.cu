// Weight-only quantized linear layers for decode steps of few token rows (M <= 8): y[m, n] = sum_k x[m, k] * w[n, k]
// with w in one of quant.cuh's layouts (QUANT_FORMAT, set by the launcher), dequantized in registers and multiplied
// with the bf16 activations in fp32. As gemv.cu: a decode step at small batch streams weights, so every lane loads
// 16 consecutive bytes of a weight row (32 lanes: 512 contiguous bytes a load), weights bypass L1, activations go
// through it. Unlike gemv.cu a warp owns ROWS weight rows (4 for int4, 2 for 8-bit formats): one activation load then
// serves ROWS rows, which keeps L1 traffic per weight byte (16-32 activation bytes per int4 chunk) within what L1 serves.
// The warps of a row group may split its chunks (ksplit, chosen by the launcher: measured, it pays only on long rows at
// one token row), each lane prefetches its next chunk, and a chunk's products are summed unscaled and scaled once
// (QUANT_FACTORED, on by default; the harness builds 0 to compare). Launched programmatically (common.cuh): a lane's
// first chunk is loaded before it waits on the previous kernel.
//
// Modes as gemv.cu: BF16 / F32 write y; RESIDUAL adds into the fp32 residual stream; the *_gated entries compute
// silu(x · gate) * (x · up) from a [2·outputs, k] matrix (gate rows, then up rows).
#include "quant.cuh"

#ifndef QUANT_FORMAT
#define QUANT_FORMAT FMT_INT4
#endif

#ifndef QUANT_FACTORED
#define QUANT_FACTORED 1
#endif

#define WARPS 8
#define MODE_BF16 0
#define MODE_F32 1
#define MODE_RESIDUAL 3
#define IPC (QuantTraits<QUANT_FORMAT>::IPC)

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

// GATED: the warp's ROWS weight rows are OUT gate rows and OUT up rows; otherwise ROWS output rows.
// The ksplit warps of a row group (consecutive warps of the block) split the row's chunks between them and add their
// partial sums through shared memory.
template <int M, bool GATED>
__device__ __forceinline__ void qgemv(
    const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x, void* __restrict__ y,
    int outputs, int k, int group, int mode, int ksplit)
{
    constexpr int ROWS = QUANT_FORMAT == FMT_INT4 ? 4 : 2;
    constexpr int OUT = GATED ? ROWS / 2 : ROWS;
    // Factored: sum code · x over a chunk (all of one group) and scale the sum once, acc += s · Σ code·x + m · Σx,
    // one instruction a weight fewer than scaling each weight (H100: int4 1.1-1.2x the GB/s at one token row). int4
    // past 4 token rows scales each weight: the chunk sums would double its 4 × M accumulators. (Two weight rows a
    // warp instead halve the activations' reuse: measured 2x slower at 8 token rows.)
    constexpr bool FACTORED = QUANT_FACTORED && (QUANT_FORMAT != FMT_INT4 || M <= 4);
    constexpr bool OFFSET = QUANT_FORMAT == FMT_INT4; // w = code · s + m: the factored sum needs Σx
    __shared__ float partials[WARPS][ROWS][M];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int slice = warp % ksplit; // the launcher passes a power of two dividing WARPS
    const int n0 = (blockIdx.x * (WARPS / ksplit) + warp / ksplit) * OUT;
    const bool active = n0 < outputs; // uniform over the row group; the launcher checks outputs % OUT == 0

    if (!active) pdl_wait_and_release(); // every thread waits before any write (the active ones below)

    float acc[ROWS][M];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
        for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;

    if (active)
    {
        const int chunks = k / IPC, groups = k / group, xchunks = k >> 3, stride = 32 * ksplit;
        // Row pointers once: the loop's address arithmetic is per chunk and per row otherwise.
        const uint4* wrow[ROWS];
        const void* srow[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r)
        {
            const int row = GATED && r >= OUT ? outputs + n0 + (r - OUT) : n0 + r;
            wrow[r] = reinterpret_cast<const uint4*>(w) + (u64)row * chunks;
            srow[r] = quant_row_scales<QUANT_FORMAT>(scales, row, groups);
        }
        // A chunk's group without a division in the loop: groups are usually a power of two of chunks (or the row).
        const int chunksPerGroup = group / IPC, groupShift = __ffs(chunksPerGroup) - 1;
        const bool shiftable = (chunksPerGroup & (chunksPerGroup - 1)) == 0;
        const uint4* xs = reinterpret_cast<const uint4*>(x);
        int c = slice * 32 + lane;
        uint4 wv[ROWS];
        if (c < chunks)
        {
#pragma unroll
            for (int r = 0; r < ROWS; ++r) wv[r] = qgemv_load_weights(wrow[r] + c);
        }
        // Launched programmatically: the first chunk is in flight while the previous kernel finishes; the activations
        // are that kernel's output.
        pdl_wait_and_release();

        for (; c < chunks; c += stride)
        {
            // The next chunk's loads go out before this chunk's arithmetic: two loads a row in flight per lane.
            uint4 nv[ROWS];
            const int cn = c + stride;
#pragma unroll
            for (int r = 0; r < ROWS; ++r) nv[r] = cn < chunks ? qgemv_load_weights(wrow[r] + cn) : wv[r];

            const int g = groups == 1 ? 0 : shiftable ? c >> groupShift : c / chunksPerGroup;
            QuantScale sc[ROWS];
#pragma unroll
            for (int r = 0; r < ROWS; ++r) sc[r] = quant_scale_at<QUANT_FORMAT>(srow[r], g);
            const uint4* xc = xs + c * (IPC / 8);
            float raw[ROWS][M], xsum[M];
#pragma unroll
            for (int m = 0; m < M; ++m)
            {
                xsum[m] = 0.0f;
#pragma unroll
                for (int r = 0; r < ROWS; ++r) raw[r][m] = 0.0f;
            }

#pragma unroll
            for (int part = 0; part < IPC / 8; ++part)
            {
                float wf[ROWS][8];
#pragma unroll
                for (int r = 0; r < ROWS; ++r)
                {
                    if (FACTORED) quant_codes8<QUANT_FORMAT>(wv[r], part, wf[r]);
                    else quant_decode8<QUANT_FORMAT>(wv[r], part, sc[r], wf[r]);
                }
#pragma unroll
                for (int m = 0; m < M; ++m)
                {
                    const uint4 xv = qgemv_load_activations(xc + (u64)m * xchunks + part);
                    float xf[8];
                    xf[0] = __uint_as_float(xv.x << 16); xf[1] = __uint_as_float(xv.x & 0xffff0000u);
                    xf[2] = __uint_as_float(xv.y << 16); xf[3] = __uint_as_float(xv.y & 0xffff0000u);
                    xf[4] = __uint_as_float(xv.z << 16); xf[5] = __uint_as_float(xv.z & 0xffff0000u);
                    xf[6] = __uint_as_float(xv.w << 16); xf[7] = __uint_as_float(xv.w & 0xffff0000u);
                    if (FACTORED && OFFSET)
                    {
#pragma unroll
                        for (int j = 0; j < 8; ++j) xsum[m] += xf[j];
                    }
#pragma unroll
                    for (int r = 0; r < ROWS; ++r)
#pragma unroll
                        for (int j = 0; j < 8; ++j)
                        {
                            if (FACTORED) raw[r][m] = fmaf(wf[r][j], xf[j], raw[r][m]);
                            else acc[r][m] = fmaf(wf[r][j], xf[j], acc[r][m]);
                        }
                }
            }

            if (FACTORED)
            {
#pragma unroll
                for (int r = 0; r < ROWS; ++r)
#pragma unroll
                    for (int m = 0; m < M; ++m)
                        acc[r][m] = fmaf(sc[r].s, raw[r][m], OFFSET ? fmaf(sc[r].m, xsum[m], acc[r][m]) : acc[r][m]);
            }
#pragma unroll
            for (int r = 0; r < ROWS; ++r) wv[r] = nv[r];
        }

#pragma unroll
        for (int r = 0; r < ROWS; ++r)
#pragma unroll
            for (int m = 0; m < M; ++m) acc[r][m] = warp_sum(acc[r][m]);
    }

    if (ksplit > 1)
    {
        if (active && lane == 0)
        {
#pragma unroll
            for (int r = 0; r < ROWS; ++r)
#pragma unroll
                for (int m = 0; m < M; ++m) partials[warp][r][m] = acc[r][m];
        }
        __syncthreads();
        if (!active || slice != 0) return;
        // Slice order is fixed, so the sum does not depend on timing.
#pragma unroll
        for (int r = 0; r < ROWS; ++r)
#pragma unroll
            for (int m = 0; m < M; ++m)
            {
                float sum = 0.0f;
                for (int i = 0; i < ksplit; ++i) sum += partials[warp + i][r][m];
                acc[r][m] = sum;
            }
    }
    else if (!active) return;

    // Lane m writes row m (every lane holds every sum).
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
        void* __restrict__ y, int outputs, int k, int group, int mode, int ksplit)                                     \
    {                                                                                                                  \
        qgemv<M, false>(w, scales, x, y, outputs, k, group, mode, ksplit);                                                     \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_gemv_gated_##M(                                       \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        void* __restrict__ y, int outputs, int k, int group, int mode, int ksplit)                                     \
    {                                                                                                                  \
        qgemv<M, true>(w, scales, x, y, outputs, k, group, mode, ksplit);                                                      \
    }

QGEMV_ENTRY(1)
QGEMV_ENTRY(2)
QGEMV_ENTRY(3)
QGEMV_ENTRY(4)
QGEMV_ENTRY(5)
QGEMV_ENTRY(6)
QGEMV_ENTRY(7)
QGEMV_ENTRY(8)
