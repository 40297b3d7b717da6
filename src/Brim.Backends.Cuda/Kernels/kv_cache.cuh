// The paged KV cache as the kernels see it: addressing and, with KV_FP8 = 1, the FP8 (E4M3) format.
// Needs NUM_KV_HEADS and HEAD_DIM defined by the including kernel; KV_FP8 defaults to 0 (bf16).
//
// Per layer, K and V are separate tensors of blocks. A block holds block_size positions of every KV head:
//   bf16: [kv_head][offset][HEAD_DIM] bf16                                 (HEAD_DIM * 2 bytes a position and head)
//   fp8:  [kv_head][offset][HEAD_DIM] e4m3, then [kv_head][offset] float scales (HEAD_DIM + 4 bytes)
// so a block, scales included, is one contiguous segment (swapping copies it as a unit) and the data of a position
// stays 16-byte aligned for HEAD_DIM a multiple of 16.
//
// FP8 scales: each (token, KV head) vector is quantized with its own scale amax / 448 (E4M3's largest finite value),
// so nothing saturates and no calibration is needed; 4 bytes per HEAD_DIM values (3 % at HEAD_DIM 128).
#pragma once

#ifndef KV_FP8
#define KV_FP8 0
#endif

#define FP8_E4M3_MAX 448.0f

#if KV_FP8
typedef unsigned char kv_t;
#else
typedef bf16_t kv_t;
#endif

// Bytes of one block of one layer's K (or V).
__device__ __forceinline__ u64 kv_block_bytes(int block_size)
{
#if KV_FP8
    return (u64)NUM_KV_HEADS * block_size * (HEAD_DIM + 4);
#else
    return (u64)NUM_KV_HEADS * block_size * HEAD_DIM * 2;
#endif
}

// First element of (block, kv head, offset).
__device__ __forceinline__ const kv_t* kv_row(const kv_t* cache, int block, int kh, int offset, int block_size)
{
    const unsigned char* b = reinterpret_cast<const unsigned char*>(cache) + (u64)block * kv_block_bytes(block_size);
    return reinterpret_cast<const kv_t*>(b) + ((u64)kh * block_size + offset) * HEAD_DIM;
}

__device__ __forceinline__ kv_t* kv_row_mut(kv_t* cache, int block, int kh, int offset, int block_size)
{
    return const_cast<kv_t*>(kv_row(cache, block, kh, offset, block_size));
}

#if KV_FP8
// Where the scale of (block, kv head, offset) lives: after the block's data.
__device__ __forceinline__ const float* kv_scale_ptr(const kv_t* cache, int block, int kh, int offset, int block_size)
{
    const unsigned char* b = reinterpret_cast<const unsigned char*>(cache) + (u64)block * kv_block_bytes(block_size);
    return reinterpret_cast<const float*>(b + (u64)NUM_KV_HEADS * block_size * HEAD_DIM) + (u64)kh * block_size + offset;
}

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
#endif
