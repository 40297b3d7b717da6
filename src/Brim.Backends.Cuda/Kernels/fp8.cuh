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
