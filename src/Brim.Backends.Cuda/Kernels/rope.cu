// Rotary embeddings on the fused q/k/v projection, the Qwen2 biases folded in, and the K/V write into the paged
// cache. Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, ROPE_INTERLEAVED (1: pairs (2i, 2i+1) as in llama2.c;
// 0: pairs (i, i + HEAD_DIM/2) as in Hugging Face's rotate_half), KV_FP8 (kv_cache.cuh).
#include "common.cuh"
#include "kv_cache.cuh"

#define HALF_DIM (HEAD_DIM / 2)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)

__device__ __forceinline__ void pair_index(int i, int* a, int* b)
{
#if ROPE_INTERLEAVED
    *a = 2 * i; *b = 2 * i + 1;
#else
    *a = i; *b = i + HALF_DIM;
#endif
}

// grid: tokens. qkv rows are [q | k | v]; q is rotated in place. slots[t] is the cache slot (block * block_size +
// offset) of token t's K/V, or -1 for a padded row (nothing is written). Cache layout: kv_cache.cuh. inv_freq has
// HALF_DIM entries (llama3 scaling already applied). With KV_FP8 the rotated k and the v of the token are staged in
// shared memory in fp32 and quantized from there, one warp per (K or V, kv head) vector: amax, scale, E4M3 bytes.
extern "C" __global__ void qkv_rope_cache(bf16_t* __restrict__ qkv, const bf16_t* __restrict__ bias,
                                          const int* __restrict__ positions, const int* __restrict__ slots,
                                          const float* __restrict__ inv_freq, kv_t* __restrict__ k_cache,
                                          kv_t* __restrict__ v_cache, int block_size)
{
#if KV_FP8
    __shared__ float staged[2 * KV_DIM]; // [k | v] of this token, fp32
#endif
    pdl_wait_and_release(); // launched programmatically (common.cuh)
    const int t = blockIdx.x;
    bf16_t* row = qkv + (u64)t * QKV_DIM;
    const float pos = (float)positions[t];
    const int slot = slots[t];
    const int block = slot >= 0 ? slot / block_size : 0;
    const int offset = slot >= 0 ? slot % block_size : 0;

    // Rotated pairs of q (heads 0..NUM_HEADS-1) and k (heads NUM_HEADS..): one work item per pair.
    for (int w = threadIdx.x; w < (NUM_HEADS + NUM_KV_HEADS) * HALF_DIM; w += blockDim.x)
    {
        const int head = w / HALF_DIM, i = w - head * HALF_DIM;
        int a, b;
        pair_index(i, &a, &b);
        const int base = head * HEAD_DIM; // k heads follow q heads in the row
        float x0 = bf16_to_float(row[base + a]), x1 = bf16_to_float(row[base + b]);
        if (bias) { x0 += bf16_to_float(bias[base + a]); x1 += bf16_to_float(bias[base + b]); }
        float s, c;
        sincosf(pos * inv_freq[i], &s, &c);
        const float y0 = x0 * c - x1 * s, y1 = x1 * c + x0 * s;
        if (head < NUM_HEADS)
        {
            row[base + a] = float_to_bf16(y0); row[base + b] = float_to_bf16(y1);
        }
        else if (slot >= 0)
        {
            const int kh = head - NUM_HEADS;
#if KV_FP8
            staged[kh * HEAD_DIM + a] = y0; staged[kh * HEAD_DIM + b] = y1;
#else
            kv_t* dst = kv_row_mut(k_cache, block, kh, offset, block_size);
            dst[a] = float_to_bf16(y0); dst[b] = float_to_bf16(y1);
#endif
        }
    }

    if (slot < 0) return; // uniform over the CTA: no thread reaches the barrier below
    for (int w = threadIdx.x; w < KV_DIM; w += blockDim.x)
    {
        const int kh = w / HEAD_DIM, d = w - kh * HEAD_DIM;
        float v = bf16_to_float(row[Q_DIM + KV_DIM + w]);
        if (bias) v += bf16_to_float(bias[Q_DIM + KV_DIM + w]);
#if KV_FP8
        staged[KV_DIM + w] = v;
#else
        kv_row_mut(v_cache, block, kh, offset, block_size)[d] = float_to_bf16(v);
#endif
    }

#if KV_FP8
    __syncthreads();
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int item = warp; item < 2 * NUM_KV_HEADS; item += blockDim.x >> 5)
    {
        const int kh = item % NUM_KV_HEADS;
        const float* x = staged + (item / NUM_KV_HEADS) * KV_DIM + kh * HEAD_DIM;
        kv_t* cache = item < NUM_KV_HEADS ? k_cache : v_cache;
        float amax = 0.0f;
        for (int d = lane; d < HEAD_DIM; d += 32) amax = fmaxf(amax, fabsf(x[d]));
        amax = warp_max(amax);
        const float inv = amax > 0.0f ? FP8_E4M3_MAX / amax : 0.0f;
        unsigned short* dst = reinterpret_cast<unsigned short*>(kv_row_mut(cache, block, kh, offset, block_size));
        for (int d = 2 * lane; d < HEAD_DIM; d += 64) dst[d / 2] = float2_to_fp8x2(x[d] * inv, x[d + 1] * inv);
        if (lane == 0) *const_cast<float*>(kv_scale_ptr(cache, block, kh, offset, block_size)) = amax / FP8_E4M3_MAX;
    }
#endif
}
