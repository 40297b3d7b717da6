// Weight conversion to bf16 (checkpoints stored as F32 or F16 are converted chunk by chunk while loading).
#include "common.cuh"

extern "C" __global__ void f32_to_bf16(const float* __restrict__ src, bf16_t* __restrict__ dst, u64 n)
{
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
        dst[i] = float_to_bf16(src[i]);
}

extern "C" __global__ void f16_to_bf16(const unsigned short* __restrict__ src, bf16_t* __restrict__ dst, u64 n)
{
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
        dst[i] = float_to_bf16(half_bits_to_float(src[i]));
}
