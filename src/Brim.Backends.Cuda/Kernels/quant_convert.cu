// Conversions into and out of quant.cuh's layouts.
//  quantize_*: bf16 weight rows → codes + scales, on load (--quantization), with the CPU's math (Brim.Models
//              WeightQuantizer): fp8 and int8 a scale per row (absmax ↦ 448 / 127, round to nearest even, saturate),
//              int4 AWQ's asymmetric groups (scale = max(max - min, 1e-5) / 15, zero = clamp(-round(min / scale), 0, 15)).
//  dequantize_*: codes + scales → bf16 rows, for steps too large for quant_gemv.cu (the product then runs on cuBLAS).
#include "quant.cuh"

#define THREADS 256

// The largest |value| of a bf16 row, in every thread of the block.
__device__ __forceinline__ float row_absmax(const bf16_t* __restrict__ row, int k)
{
    __shared__ float scratch[32];
    float amax = 0.0f;
    for (int i = threadIdx.x; i < k; i += THREADS) amax = fmaxf(amax, fabsf(bf16_to_float(row[i])));
    return block_max(amax, scratch);
}

// One block per row (k a multiple of 8): fp8.cuh's row quantizer, the one W8A8 products use for activations.
extern "C" __global__ void __launch_bounds__(THREADS) quantize_rows_fp8(
    const bf16_t* __restrict__ src, unsigned char* __restrict__ codes, float* __restrict__ scales, int k)
{
    __shared__ float scratch[32];
    const float scale = quantize_row_fp8<THREADS>(src + (u64)blockIdx.x * k, codes + (u64)blockIdx.x * k, k, scratch);
    if (threadIdx.x == 0) scales[blockIdx.x] = scale;
}

extern "C" __global__ void __launch_bounds__(THREADS) quantize_rows_int8(
    const bf16_t* __restrict__ src, signed char* __restrict__ codes, float* __restrict__ scales, int k)
{
    const bf16_t* row = src + (u64)blockIdx.x * k;
    const float scale = row_absmax(row, k) / 127.0f;
    signed char* out = codes + (u64)blockIdx.x * k;
    for (int i = threadIdx.x; i < k; i += THREADS)
        out[i] = scale == 0.0f ? 0 : (signed char)fminf(fmaxf(rintf(bf16_to_float(row[i]) / scale), -127.0f), 127.0f);
    if (threadIdx.x == 0) scales[blockIdx.x] = scale;
}

// One warp per (row, group): groups = k / group, warps numbered row-major over (row, group).
extern "C" __global__ void __launch_bounds__(THREADS) quantize_groups_int4(
    const bf16_t* __restrict__ src, unsigned* __restrict__ words, unsigned* __restrict__ scales, int rows, int k, int group)
{
    const int lane = threadIdx.x & 31;
    const u64 warp = (u64)blockIdx.x * (THREADS / 32) + (threadIdx.x >> 5);
    const int groups = k / group;
    if (warp >= (u64)rows * groups) return;
    const u64 first = warp * group; // (row * groups + g) * group == row * k + g * group
    float lo = 3.402823466e38f, hi = -3.402823466e38f;
    for (int i = lane; i < group; i += 32)
    {
        const float v = bf16_to_float(src[first + i]);
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    lo = -warp_max(-lo);
    hi = warp_max(hi);
    const float scale = fmaxf(hi - lo, 1e-5f) / 15.0f;
    const float zero = fminf(fmaxf(-rintf(lo / scale), 0.0f), 15.0f);
    for (int wi = lane; wi < group / 8; wi += 32)
    {
        unsigned word = 0;
#pragma unroll
        for (int e = 0; e < 8; ++e)
        {
            const float q = fminf(fmaxf(rintf(bf16_to_float(src[first + 8 * wi + e]) / scale) + zero, 0.0f), 15.0f);
            word |= (unsigned)q << ((e & 1) * 16 + (e >> 1) * 4);
        }
        words[first / 8 + wi] = word;
    }
    if (lane == 0) scales[warp] = (unsigned)float_to_half_bits(scale) | ((unsigned)float_to_half_bits(-zero * scale) << 16);
}

// Thread per 8 consecutive inputs of a row: one 16-byte bf16 store.
template <int F>
__device__ __forceinline__ void dequantize(const unsigned char* __restrict__ codes, const void* __restrict__ scales, bf16_t* __restrict__ out, int rows, int k, int group)
{
    constexpr int IPCF = QuantTraits<F>::IPC;
    const u64 pieces = (u64)rows * (k / 8);
    for (u64 p = (u64)blockIdx.x * blockDim.x + threadIdx.x; p < pieces; p += (u64)gridDim.x * blockDim.x)
    {
        const int row = (int)(p / (k / 8));
        const int input = (int)(p % (k / 8)) * 8;
        const uint4 chunk = reinterpret_cast<const uint4*>(codes)[((u64)row * k + input) / IPCF];
        float w[8];
        quant_decode8<F>(chunk, (input % IPCF) / 8, quant_scale<F>(scales, row, input / group, k / group), w);
        uint4 o;
        o.x = (unsigned)float_to_bf16(w[0]) | ((unsigned)float_to_bf16(w[1]) << 16);
        o.y = (unsigned)float_to_bf16(w[2]) | ((unsigned)float_to_bf16(w[3]) << 16);
        o.z = (unsigned)float_to_bf16(w[4]) | ((unsigned)float_to_bf16(w[5]) << 16);
        o.w = (unsigned)float_to_bf16(w[6]) | ((unsigned)float_to_bf16(w[7]) << 16);
        reinterpret_cast<uint4*>(out)[p] = o;
    }
}

extern "C" __global__ void dequantize_fp8(const unsigned char* codes, const void* scales, bf16_t* out, int rows, int k, int group)
{
    dequantize<FMT_FP8>(codes, scales, out, rows, k, group);
}

extern "C" __global__ void dequantize_int8(const unsigned char* codes, const void* scales, bf16_t* out, int rows, int k, int group)
{
    dequantize<FMT_INT8>(codes, scales, out, rows, k, group);
}

extern "C" __global__ void dequantize_int4(const unsigned char* codes, const void* scales, bf16_t* out, int rows, int k, int group)
{
    dequantize<FMT_INT4>(codes, scales, out, rows, k, group);
}

