// Brim's device layouts for quantized linear weights [out, in] (row-major, one row per output feature), and their
// decoding in registers. Each 16-byte chunk of a row holds IPC consecutive inputs of one quantization group:
//   FMT_FP8  codes: E4M3 bytes [out][in];            scales: float [out]            w = e4m3(code) * scale
//   FMT_INT8 codes: int8 [out][in];                  scales: float [out][in/group]  w = q * scale
//   FMT_INT4 codes: uint32 [out][in/8], 8 inputs a word, input e of the word in bits (e%2)*16 + (e/2)*4 .. +3, so
//            that one mask pulls two codes into the mantissas of a bf16 pair (128 + q, exact);
//            scales: half2 [out][in/group] = (s, m) with m = -zero * s                w = q * s + m
// A group is a multiple of IPC inputs, so a chunk never straddles two groups. The layouts are built on the host
// (Weights/QuantizedPacking.cs, from AWQ / GPTQ / FP8 checkpoints) or on the device (quant_convert.cu, on load).
#pragma once

#include "common.cuh"
#include "fp8.cuh"

#define FMT_FP8 1
#define FMT_INT8 2
#define FMT_INT4 3

// Inputs per 16-byte chunk of codes.
template <int F> struct QuantTraits { static constexpr int IPC = 16; };
template <> struct QuantTraits<FMT_INT4> { static constexpr int IPC = 32; };

// What turns a decoded code into a weight: w = code_value * s + m, where code_value is what decode8 produces
// (fp8: value / 256; int8: q; int4: 128 + q).
struct QuantScale { float s; float m; };

__device__ __forceinline__ unsigned quant_word(uint4 v, int i)
{
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// The scale of one (row, group) from the row's scales (fp8: the row's one float; int8: float per group; int4: half2 per
// group). Kernels that walk a row keep the row's scale pointer and pass the group.
template <int F>
__device__ __forceinline__ QuantScale quant_scale_at(const void* __restrict__ row_scales, int group)
{
    QuantScale q;
    if (F == FMT_FP8)
    {
        q.s = *(const float*)row_scales * 256.0f; // decode8 yields value / 256
        q.m = 0.0f;
    }
    else if (F == FMT_INT8)
    {
        q.s = ((const float*)row_scales)[group];
        q.m = 0.0f;
    }
    else
    {
        const unsigned sm = ((const unsigned*)row_scales)[group];
        q.s = half_bits_to_float((unsigned short)(sm & 0xffffu));
        q.m = half_bits_to_float((unsigned short)(sm >> 16)) - 128.0f * q.s; // decode8 yields 128 + q
    }
    return q;
}

// Where row's scales start (4 bytes a scale: one a row for fp8, one per group otherwise).
template <int F>
__device__ __forceinline__ const void* quant_row_scales(const void* __restrict__ scales, int row, int groups)
{
    return (const unsigned*)scales + (F == FMT_FP8 ? (u64)row : (u64)row * groups);
}

template <int F>
__device__ __forceinline__ QuantScale quant_scale(const void* __restrict__ scales, int row, int group, int groups)
{
    return quant_scale_at<F>(quant_row_scales<F>(scales, row, groups), group);
}

// Codes 2p and 2p + 1 of an int4 word as the bf16 pair (128 + q, 128 + q'): (word >> 4p) & 0x000f000f | 0x43004300 in
// one lop3. Written as PTX because the compiler otherwise splits it per code into a shift and two single-immediate
// LOP3s (three instructions a code instead of two for the pair, measured in the SASS).
__device__ __forceinline__ unsigned int4_pair_bits(unsigned word, int p)
{
    unsigned t;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(t) : "r"(word >> (4 * p)), "r"(0x000f000fu), "r"(0x43004300u));
    return t;
}

// The code values of inputs 8*part .. 8*part+7 of the chunk v, unscaled (fp8: value / 256; int8: q; int4: 128 + q):
// callers that sum code · x over a chunk and scale the sum once (quant_gemv) save the per-weight scale fma.
template <int F>
__device__ __forceinline__ void quant_codes8(uint4 v, int part, float* w)
{
    if (F == FMT_FP8)
    {
        fp8x4_to_float_div256(quant_word(v, 2 * part), w);
        fp8x4_to_float_div256(quant_word(v, 2 * part + 1), w + 4);
    }
    else if (F == FMT_INT8)
    {
#pragma unroll
        for (int h = 0; h < 2; ++h)
        {
            // Offset binary (q + 128) into the low mantissa bits of 2^23: exact, no int-to-float conversion.
            const unsigned u = quant_word(v, 2 * part + h) ^ 0x80808080u;
#pragma unroll
            for (int j = 0; j < 4; ++j) w[4 * h + j] = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | j)) - 8388736.0f;
        }
    }
    else
    {
        const unsigned word = quant_word(v, part);
#pragma unroll
        for (int p = 0; p < 4; ++p)
        {
            const unsigned t = int4_pair_bits(word, p);
            w[2 * p] = __uint_as_float(t << 16);
            w[2 * p + 1] = __uint_as_float(t & 0xffff0000u);
        }
    }
}

// Weights of inputs 8*part .. 8*part+7 of the chunk v, dequantized into w[0..7]: the code values times the scale (plus
// the offset for int4, the one format with a zero point).
template <int F>
__device__ __forceinline__ void quant_decode8(uint4 v, int part, QuantScale sc, float* w)
{
    quant_codes8<F>(v, part, w);
#pragma unroll
    for (int j = 0; j < 8; ++j) w[j] = F == FMT_INT4 ? fmaf(w[j], sc.s, sc.m) : w[j] * sc.s;
}
