// Rotary embeddings on the fused q/k/v projection, the Qwen2 biases folded in, and the K/V write into the paged
// cache. Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, ROPE_INTERLEAVED (1: pairs (2i, 2i+1) as in llama2.c;
// 0: pairs (i, i + HEAD_DIM/2) as in Hugging Face's rotate_half).
#include "common.cuh"

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
// offset) of token t's K/V, or -1 for a padded row (nothing is written). Cache layout per layer:
// [block][kv_head][offset][HEAD_DIM]. inv_freq has HALF_DIM entries (llama3 scaling already applied).
extern "C" __global__ void qkv_rope_cache(bf16_t* __restrict__ qkv, const bf16_t* __restrict__ bias,
                                          const int* __restrict__ positions, const int* __restrict__ slots,
                                          const float* __restrict__ inv_freq, bf16_t* __restrict__ k_cache,
                                          bf16_t* __restrict__ v_cache, int block_size)
{
    const int t = blockIdx.x;
    bf16_t* row = qkv + (u64)t * QKV_DIM;
    const float pos = (float)positions[t];
    const int slot = slots[t];
    const u64 block = slot >= 0 ? (u64)(slot / block_size) : 0;
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
        const bf16_t r0 = float_to_bf16(x0 * c - x1 * s), r1 = float_to_bf16(x1 * c + x0 * s);
        if (head < NUM_HEADS)
        {
            row[base + a] = r0; row[base + b] = r1;
        }
        else if (slot >= 0)
        {
            const int kh = head - NUM_HEADS;
            bf16_t* dst = k_cache + ((block * NUM_KV_HEADS + kh) * block_size + offset) * HEAD_DIM;
            dst[a] = r0; dst[b] = r1;
        }
    }

    if (slot < 0) return;
    for (int w = threadIdx.x; w < KV_DIM; w += blockDim.x)
    {
        const int kh = w / HEAD_DIM, d = w - kh * HEAD_DIM;
        float v = bf16_to_float(row[Q_DIM + KV_DIM + w]);
        if (bias) v += bf16_to_float(bias[Q_DIM + KV_DIM + w]);
        v_cache[((block * NUM_KV_HEADS + kh) * block_size + offset) * HEAD_DIM + d] = float_to_bf16(v);
    }
}
