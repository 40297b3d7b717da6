// FP8 E4M3 conversions shared by the FP8 KV cache and the FP8 weight kernels.
#pragma once

#include "common.cuh"

#define FP8_E4M3_MAX 448.0f

// E4M3 bits to fp16 bits by moving fields (exact, subnormals included): the fp16 value is the E4M3 value / 256, since
// fp16's exponent bias (15) exceeds E4M3's (7) by 8. Callers fold the 256 into the scale. Cheaper than cvt
// instructions, which would bound a kernel that streams FP8 at the copy bandwidth.
// Four E4M3 bytes of w (element i in byte i) → two fp16x2 words of value / 256: even = (element 0, element 2),
// odd = (element 1, element 3), the lower element in the lower half.
__device__ __forceinline__ void fp8x4_to_half2x2_div256(unsigned w, unsigned* even, unsigned* odd)
{
    *odd = (w & 0x80008000u) | ((w >> 1) & 0x3f803f80u);
    *even = ((w << 8) & 0x80008000u) | ((w << 7) & 0x3f803f80u);
}

// Four E4M3 bytes of w → f[0..3] = value / 256.
__device__ __forceinline__ void fp8x4_to_float_div256(unsigned w, float* f)
{
    unsigned even, odd;
    fp8x4_to_half2x2_div256(w, &even, &odd);
    f[0] = half_bits_to_float((unsigned short)(even & 0xffffu));
    f[1] = half_bits_to_float((unsigned short)(odd & 0xffffu));
    f[2] = half_bits_to_float((unsigned short)(even >> 16));
    f[3] = half_bits_to_float((unsigned short)(odd >> 16));
}

__device__ __forceinline__ float fp8_to_float_div256(unsigned char b)
{
    return half_bits_to_float((unsigned short)(((b & 0x80u) << 8) | ((b & 0x7fu) << 7)));
}

// Two floats to E4M3, round to nearest even, saturating at ±448 (sm_89+): lo goes to the lower address.
__device__ __forceinline__ unsigned short float2_to_fp8x2(float lo, float hi)
{
    unsigned short r;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
    return r;
}

// Eight bf16 of a 16-byte chunk as floats.
__device__ __forceinline__ void bf16x8_to_float(uint4 v, float* f)
{
    const unsigned w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
    {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

// One bf16 row of k values (k a multiple of 8, the row 16-byte aligned, the codes 8-byte aligned) to E4M3 with the row's
// own scale amax / 448, by a whole block of THREADS threads; returns the scale (0 for an all-zero row, whose codes are
// zero and whose scale zeroes any product). The row is read twice (amax, then the codes); the second read hits L1/L2.
// x / scale, not x · (448 / amax): the CPU's WeightQuantizer divides, so its twin matches bit for bit. Serves the
// activations of W8A8 products (fp8_gemm.cu) and weights quantized on load (quant_convert.cu).
template <int THREADS>
__device__ __forceinline__ float quantize_row_fp8(const bf16_t* __restrict__ x, unsigned char* __restrict__ codes, int k, float* scratch /* >= 32 */)
{
    const uint4* row = reinterpret_cast<const uint4*>(x);
    const int chunks = k / 8;
    float amax = 0.0f;
    for (int c = threadIdx.x; c < chunks; c += THREADS)
    {
        float f[8];
        bf16x8_to_float(row[c], f);
#pragma unroll
        for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(f[i]));
    }
    amax = block_max(amax, scratch);
    const float scale = amax / FP8_E4M3_MAX;
    uint2* out = reinterpret_cast<uint2*>(codes);
    for (int c = threadIdx.x; c < chunks; c += THREADS)
    {
        uint2 o = make_uint2(0u, 0u);
        if (scale != 0.0f)
        {
#if __CUDA_ARCH__ >= 890
            float f[8];
            bf16x8_to_float(row[c], f);
            o.x = (unsigned)float2_to_fp8x2(f[0] / scale, f[1] / scale) | ((unsigned)float2_to_fp8x2(f[2] / scale, f[3] / scale) << 16);
            o.y = (unsigned)float2_to_fp8x2(f[4] / scale, f[5] / scale) | ((unsigned)float2_to_fp8x2(f[6] / scale, f[7] / scale) << 16);
#else
            __trap(); // the launchers refuse fp8 below sm_89
#endif
        }
        out[c] = o;
    }
    return scale;
}
