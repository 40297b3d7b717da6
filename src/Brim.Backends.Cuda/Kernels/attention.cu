// Paged attention over a ragged batch. Every query row (a decode token, or one token of a prefill chunk) attends
// to the first row_ctx[row] positions of its sequence through that sequence's block table, so causal masking is
// the context length itself. One CTA serves all GROUP query heads of one KV head (GQA: K/V are read once per
// group); long contexts are split into gridDim.z partitions, flash-decoding style, combined by attention_reduce.
// Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, KV_FP8 (kv_cache.cuh: layout and FP8 format).
#include "common.cuh"
#include "kv_cache.cuh"

#define GROUP (NUM_HEADS / NUM_KV_HEADS)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)
#define EPL ((HEAD_DIM + 31) / 32)   // head dimensions per lane (contiguous)
#define NWARPS 4
#define UNROLL 4                      // positions whose K/V a warp loads before using them
#define NEG_BIG (-1.0e30f)            // finite "minus infinity": exp(NEG_BIG - NEG_BIG) stays 1, never NaN
#include "attention_combine.cuh"

__device__ __forceinline__ void load_lane_bf16(const bf16_t* __restrict__ p, int d0, float* out)
{
#if HEAD_DIM % 32 == 0 && EPL == 4
    const uint2 v = *reinterpret_cast<const uint2*>(p + d0);
    out[0] = __uint_as_float(v.x << 16); out[1] = __uint_as_float(v.x & 0xffff0000u);
    out[2] = __uint_as_float(v.y << 16); out[3] = __uint_as_float(v.y & 0xffff0000u);
#elif HEAD_DIM % 32 == 0 && EPL == 2
    const unsigned int v = *reinterpret_cast<const unsigned int*>(p + d0);
    out[0] = __uint_as_float(v << 16); out[1] = __uint_as_float(v & 0xffff0000u);
#else
#pragma unroll
    for (int e = 0; e < EPL; e++) out[e] = d0 + e < HEAD_DIM ? bf16_to_float(p[d0 + e]) : 0.0f;
#endif
}

// A lane's values of one cached K or V row: bf16 exactly, E4M3 divided by 256 (the scale applied by the caller carries it).
__device__ __forceinline__ void load_kv_lane(const kv_t* __restrict__ p, int d0, float* out)
{
#if KV_FP8
#pragma unroll
    for (int e = 0; e < EPL; e++) out[e] = d0 + e < HEAD_DIM ? fp8_to_float_div256(p[d0 + e]) : 0.0f;
#else
    load_lane_bf16(p, d0, out);
#endif
}

// grid: (NUM_KV_HEADS, rows, partitions), block: NWARPS * 32.
// qkv: rows of [q | k | v] (q already rotated). out: [rows, Q_DIM] bf16, written when gridDim.z == 1.
// part_acc: [rows, NUM_HEADS, partitions, HEAD_DIM] unnormalized sums; part_ml: [..., 2] (max, denominator).
extern "C" __global__ void __launch_bounds__(NWARPS * 32) paged_attention(
    const bf16_t* __restrict__ qkv, const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache,
    const int* __restrict__ block_tables, const int* __restrict__ row_ctx, const int* __restrict__ row_bt_off,
    int block_size, float scale, bf16_t* __restrict__ out, float* __restrict__ part_acc, float* __restrict__ part_ml)
{
    __shared__ float sm_m[NWARPS][GROUP];
    __shared__ float sm_l[NWARPS][GROUP];
    __shared__ float sm_acc[NWARPS][GROUP][HEAD_DIM];

    const int kh = blockIdx.x, row = blockIdx.y, part = blockIdx.z, parts = gridDim.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int ctx = row_ctx[row];
    const int per = (ctx + parts - 1) / parts;
    const int start = part * per;
    const int end = min(ctx, start + per);
    const int* bt = block_tables + row_bt_off[row];
    const int d0 = lane * EPL;

    float q[GROUP][EPL];
    const bf16_t* qrow = qkv + (u64)row * QKV_DIM + kh * GROUP * HEAD_DIM;
#pragma unroll
    for (int g = 0; g < GROUP; g++)
    {
        load_lane_bf16(qrow + g * HEAD_DIM, d0 < HEAD_DIM ? d0 : 0, q[g]);
#pragma unroll
        for (int e = 0; e < EPL; e++) q[g][e] = d0 < HEAD_DIM ? q[g][e] * scale : 0.0f;
    }

    float m[GROUP], l[GROUP], acc[GROUP][EPL];
#pragma unroll
    for (int g = 0; g < GROUP; g++)
    {
        m[g] = NEG_BIG; l[g] = 0.0f;
#pragma unroll
        for (int e = 0; e < EPL; e++) acc[g][e] = 0.0f;
    }

    for (int p0 = start + warp * UNROLL; p0 < end; p0 += NWARPS * UNROLL)
    {
        float k[UNROLL][EPL], v[UNROLL][EPL], ks[UNROLL], vs[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            const int p = p0 + u;
            ks[u] = 1.0f; vs[u] = 1.0f;
            if (p < end)
            {
                const int blk = bt[p / block_size], off = p % block_size;
#if KV_FP8
                ks[u] = *kv_scale_ptr(k_cache, blk, kh, off, block_size) * 256.0f;
                vs[u] = *kv_scale_ptr(v_cache, blk, kh, off, block_size) * 256.0f;
#endif
            }
            if (p < end && d0 < HEAD_DIM)
            {
                const int blk = bt[p / block_size], off = p % block_size;
                load_kv_lane(kv_row(k_cache, blk, kh, off, block_size), d0, k[u]);
                load_kv_lane(kv_row(v_cache, blk, kh, off, block_size), d0, v[u]);
            }
            else
            {
#pragma unroll
                for (int e = 0; e < EPL; e++) { k[u][e] = 0.0f; v[u][e] = 0.0f; }
            }
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++)
        {
            if (p0 + u >= end) break; // warp-uniform
#pragma unroll
            for (int g = 0; g < GROUP; g++)
            {
                float s = 0.0f;
#pragma unroll
                for (int e = 0; e < EPL; e++) s += q[g][e] * k[u][e];
                s = warp_sum(s) * ks[u];
                const float mn = fmaxf(m[g], s);
                const float c = __expf(m[g] - mn), w = __expf(s - mn);
                l[g] = l[g] * c + w;
                const float wv = w * vs[u];
#pragma unroll
                for (int e = 0; e < EPL; e++) acc[g][e] = acc[g][e] * c + wv * v[u][e];
                m[g] = mn;
            }
        }
    }

#pragma unroll
    for (int g = 0; g < GROUP; g++)
    {
        if (lane == 0) { sm_m[warp][g] = m[g]; sm_l[warp][g] = l[g]; }
#pragma unroll
        for (int e = 0; e < EPL; e++)
            if (d0 + e < HEAD_DIM) sm_acc[warp][g][d0 + e] = acc[g][e];
    }
    __syncthreads();
    combine_warps_and_store(sm_m, sm_l, sm_acc, kh, row, part, parts, out, part_acc, part_ml);
}

// grid: (NUM_HEADS, rows), block: HEAD_DIM rounded up to a warp. Combines the partitions of paged_attention.
extern "C" __global__ void attention_reduce(const float* __restrict__ part_acc, const float* __restrict__ part_ml,
                                            int parts, bf16_t* __restrict__ out)
{
    pdl_wait_and_release(); // launched programmatically (common.cuh)
    const int h = blockIdx.x, row = blockIdx.y, d = threadIdx.x;
    if (d >= HEAD_DIM) return;
    const u64 first = ((u64)row * NUM_HEADS + h) * parts;
    float mx = NEG_BIG;
    for (int p = 0; p < parts; p++) mx = fmaxf(mx, part_ml[(first + p) * 2]);
    float den = 0.0f, num = 0.0f;
    for (int p = 0; p < parts; p++)
    {
        const float f = __expf(part_ml[(first + p) * 2] - mx);
        den += part_ml[(first + p) * 2 + 1] * f;
        num += part_acc[(first + p) * HEAD_DIM + d] * f;
    }
    out[(u64)row * Q_DIM + h * HEAD_DIM + d] = float_to_bf16(den > 0.0f ? num / den : 0.0f);
}
