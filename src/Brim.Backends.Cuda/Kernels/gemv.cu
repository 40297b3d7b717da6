// Linear layers of decode steps with very few token rows (M <= 8) on CUDA cores: y[m, n] = sum_k x[m, k] * w[n, k].
// A decode step at small batch is pure weight streaming, so the layout is chosen for the memory system: one warp
// owns one weight row and its 32 lanes read 16 consecutive bytes each, so every load instruction fetches 512
// contiguous bytes (four whole 128-byte lines). The few activation rows are read through L1 (they are tiny and every
// warp of the SM reads them). Products are summed in fp32, each warp reduces with shuffles.
//
// Launched programmatically (common.cuh): each warp's first weight bytes are prefetched into L2 before it waits.
//
// Modes: BF16 / F32 write y; GATED computes the fused SwiGLU gate/up projection (the warp reads gate row j and up row
// ff + j and writes silu(gate) * up); RESIDUAL adds the product into the fp32 residual stream in place.
#include "common.cuh"

#define WARPS 8
#define UNROLL 4
#define MODE_BF16 0
#define MODE_F32 1
#define MODE_GATED 2
#define MODE_RESIDUAL 3

__device__ __forceinline__ uint4 gemv_load_weights(const uint4* p)
{
    // Streamed once per step: keep it out of L1, where the activations live.
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ uint4 gemv_load_activations(const uint4* p)
{
    uint4 v;
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ float lo(unsigned v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float hi(unsigned v) { return __uint_as_float(v & 0xffff0000u); }

// acc += dot(w[0..7], x[0..7]) with w already unpacked.
__device__ __forceinline__ float dot8(const float* w, uint4 x, float acc)
{
    acc = fmaf(w[0], lo(x.x), acc); acc = fmaf(w[1], hi(x.x), acc);
    acc = fmaf(w[2], lo(x.y), acc); acc = fmaf(w[3], hi(x.y), acc);
    acc = fmaf(w[4], lo(x.z), acc); acc = fmaf(w[5], hi(x.z), acc);
    acc = fmaf(w[6], lo(x.w), acc); acc = fmaf(w[7], hi(x.w), acc);
    return acc;
}

__device__ __forceinline__ void unpack8(uint4 v, float* f)
{
    f[0] = lo(v.x); f[1] = hi(v.x); f[2] = lo(v.y); f[3] = hi(v.y);
    f[4] = lo(v.z); f[5] = hi(v.z); f[6] = lo(v.w); f[7] = hi(v.w);
}

// Sum over the chunks (16-byte pieces) of one weight row against each activation row.
template <int M>
__device__ __forceinline__ void gemv_row(const uint4* __restrict__ wr, const uint4* __restrict__ x, int chunks, int lane, float* acc)
{
    for (int c = lane; c < chunks; c += 32 * UNROLL)
    {
        uint4 wv[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
        {
            const int i = c + u * 32;
            wv[u] = i < chunks ? gemv_load_weights(wr + i) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
        {
            const int i = c + u * 32;
            if (i >= chunks) break;
            float wf[8];
            unpack8(wv[u], wf);
#pragma unroll
            for (int m = 0; m < M; ++m) acc[m] = dot8(wf, gemv_load_activations(x + (u64)m * chunks + i), acc[m]);
        }
    }
#pragma unroll
    for (int m = 0; m < M; ++m) acc[m] = warp_sum(acc[m]);
}

template <int M>
__device__ __forceinline__ void gemv(const bf16_t* __restrict__ w, const bf16_t* __restrict__ x, void* __restrict__ y, int outputs, int k, int mode)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    const int chunks = k >> 3;
    // Launched programmatically: the row's first bytes (the loop's first pass) head for L2 while the previous kernel
    // (a norm, attention) finishes; the activations are its output, so nothing else is read before the wait.
    if (n < outputs)
    {
        const int rowBytes = k * 2, first = mode == MODE_GATED ? min(rowBytes, 2048) : min(rowBytes, 4096);
        prefetch_l2_first(w + (u64)n * k, first, lane);
        if (mode == MODE_GATED) prefetch_l2_first(w + (u64)(outputs + n) * k, first, lane);
    }
    pdl_wait_and_release();
    if (n >= outputs) return; // warp-uniform
    const uint4* xs = reinterpret_cast<const uint4*>(x);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; ++m) acc[m] = 0.0f;
    gemv_row<M>(reinterpret_cast<const uint4*>(w) + (u64)n * chunks, xs, chunks, lane, acc);
    if (mode == MODE_GATED)
    {
        float up[M];
#pragma unroll
        for (int m = 0; m < M; ++m) up[m] = 0.0f;
        gemv_row<M>(reinterpret_cast<const uint4*>(w) + (u64)(outputs + n) * chunks, xs, chunks, lane, up);
#pragma unroll
        for (int m = 0; m < M; ++m) acc[m] = acc[m] / (1.0f + __expf(-acc[m])) * up[m];
    }

    // Lane m writes row m (the sums are in every lane after the butterfly reduction).
#pragma unroll
    for (int m = 0; m < M; ++m)
    {
        if (lane != m) continue;
        const u64 at = (u64)m * outputs + n;
        if (mode == MODE_F32) ((float*)y)[at] = acc[m];
        else if (mode == MODE_RESIDUAL) ((float*)y)[at] += acc[m];
        else ((bf16_t*)y)[at] = float_to_bf16(acc[m]);
    }
}

#define GEMV_ENTRY(M)                                                                                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) gemv_##M(                                                   \
        const bf16_t* __restrict__ w, const bf16_t* __restrict__ x, void* __restrict__ y, int outputs, int k, int mode) \
    {                                                                                                                  \
        gemv<M>(w, x, y, outputs, k, mode);                                                                            \
    }

GEMV_ENTRY(1)
GEMV_ENTRY(2)
GEMV_ENTRY(3)
GEMV_ENTRY(4)
GEMV_ENTRY(5)
GEMV_ENTRY(6)
GEMV_ENTRY(7)
GEMV_ENTRY(8)
