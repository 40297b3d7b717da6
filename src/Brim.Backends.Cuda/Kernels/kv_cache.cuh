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

#include "fp8.cuh"

#ifndef KV_FP8
#define KV_FP8 0
#endif

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

#endif
