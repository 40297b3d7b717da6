// Shared helpers for Brim's kernels. NVRTC-friendly: no host headers; bf16 is handled as raw 16-bit patterns so
// the sources compile without cuda_bf16.h on any toolkit.
#pragma once

typedef unsigned short bf16_t;
typedef unsigned long long u64;

__device__ __forceinline__ float bf16_to_float(bf16_t v) { return __uint_as_float(((unsigned int)v) << 16); }

// Round to nearest even, quiet NaNs kept NaN.
__device__ __forceinline__ bf16_t float_to_bf16(float f)
{
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}

__device__ __forceinline__ float half_bits_to_float(unsigned short h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short float_to_half_bits(float f)
{
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* scratch /* >= 32 floats */)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch /* >= 32 floats */)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -3.402823466e38f;
    return warp_max(v);
}

// Programmatic dependent launch (sm_90+). A kernel the host launches with the programmatic attribute (KernelFunction
// .WithProgrammaticLaunch) may start while the kernel before it on the stream still runs. It must call pdl_wait() in
// every thread before it reads what an earlier kernel writes or writes what an earlier kernel reads; only reads of
// data no kernel of the step writes (weights) may come first. Every kernel so launched waits, so a kernel's completion
// still implies its predecessors'. pdl_release() lets the next kernel's blocks start on free multiprocessors: called
// right after pdl_wait(), at most two kernels of a step are in flight. Both are no-ops when the kernel was launched
// plainly, and compile to nothing before sm_90.
__device__ __forceinline__ void pdl_wait()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_release()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Both, for kernels with nothing to do before their inputs are ready.
__device__ __forceinline__ void pdl_wait_and_release()
{
    pdl_wait();
    pdl_release();
}

// Starts the first `bytes` (at most 4 KB) from `p` on their way into L2, one 128-byte line a lane of the warp: weights a
// kernel will stream, fetched while it still waits on the previous kernel.
__device__ __forceinline__ void prefetch_l2_first(const void* p, int bytes, int lane)
{
    if (lane * 128 < bytes) asm volatile("prefetch.global.L2 [%0];" ::"l"((const char*)p + lane * 128));
}
