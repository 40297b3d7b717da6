// Paged attention for decode-shaped work (every query row attends to the first row_ctx[row] positions of its
// sequence), built for throughput at large batch where K/V reads dominate the step. Same grid, arguments and
// outputs as paged_attention in attention.cu (whose attention_reduce combines the partitions); it serves the shapes
// that fit its register budget: HEAD_DIM 64 or 128 and GROUP * HEAD_DIM / 8 <= 64.
//
// Why it is faster than the one-position-per-warp loop: eight lanes share a position (each owns HEAD_DIM / 8
// consecutive dimensions, loaded as 16-byte pieces), so a warp scores four positions per step with three shuffle
// levels instead of a full warp reduction per position and head; K/V of STEPS steps (16 positions, one KV block at
// block size 16) are loaded before any is used; the online-softmax rescale happens once per 16 positions, not per
// position. Each lane accumulates P·V for its own dimensions over the positions of its lane group; the four groups
// of a warp are summed once at the end, then the warps through shared memory.
// With KV_FP8 a lane loads half the bytes (8 or 16 E4M3 values), unpacks them by moving bit fields, and the
// position's scales multiply its score (K) and its probability (V) once instead of every element.
// Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, KV_FP8.
#include "common.cuh"
#include "kv_cache.cuh"

#define GROUP (NUM_HEADS / NUM_KV_HEADS)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)
#define LPP 8                  // lanes per position
#define PPS (32 / LPP)         // positions per warp step
#define DPL (HEAD_DIM / LPP)   // dimensions per lane
#define VPL (DPL / 8)          // 16-byte pieces of bf16 per lane and row (the query)
#if KV_FP8
#define KV_WORDS (DPL / 4)     // 32-bit words of K (or V) per lane and position: one byte a value
#else
#define KV_WORDS (DPL / 2)     // two bytes a value
#endif
#define NWARPS 4
#define STEPS 4                // warp steps whose K/V are in flight together
#define NEG_BIG (-1.0e30f)
#include "attention_combine.cuh"

#if HEAD_DIM != 64 && HEAD_DIM != 128
#error decode_attention supports HEAD_DIM 64 and 128
#endif
#if GROUP * DPL > 64
#error decode_attention keeps GROUP * HEAD_DIM / 8 <= 64 values per lane
#endif

__device__ __forceinline__ void unpack_piece(uint4 v, float* f)
{
    f[0] = __uint_as_float(v.x << 16); f[1] = __uint_as_float(v.x & 0xffff0000u);
    f[2] = __uint_as_float(v.y << 16); f[3] = __uint_as_float(v.y & 0xffff0000u);
    f[4] = __uint_as_float(v.z << 16); f[5] = __uint_as_float(v.z & 0xffff0000u);
    f[6] = __uint_as_float(v.w << 16); f[7] = __uint_as_float(v.w & 0xffff0000u);
}

// This lane's KV_WORDS words of one position (16-byte loads, or 8-byte ones for FP8 at HEAD_DIM 64).
__device__ __forceinline__ void load_words(const kv_t* __restrict__ p, unsigned* w)
{
#if KV_WORDS % 4 == 0
#pragma unroll
    for (int j = 0; j < KV_WORDS / 4; j++)
    {
        const uint4 v = reinterpret_cast<const uint4*>(p)[j];
        w[4 * j] = v.x; w[4 * j + 1] = v.y; w[4 * j + 2] = v.z; w[4 * j + 3] = v.w;
    }
#else
#pragma unroll
    for (int j = 0; j < KV_WORDS / 2; j++)
    {
        const uint2 v = reinterpret_cast<const uint2*>(p)[j];
        w[2 * j] = v.x; w[2 * j + 1] = v.y;
    }
#endif
}

// DPL values from this lane's words: bf16 exactly, E4M3 divided by 256 (the caller's scales carry the 256).
__device__ __forceinline__ void unpack_words(const unsigned* w, float* f)
{
#pragma unroll
    for (int j = 0; j < KV_WORDS; j++)
    {
#if KV_FP8
        fp8x4_to_float_div256(w[j], f + 4 * j);
#else
        f[2 * j] = __uint_as_float(w[j] << 16); f[2 * j + 1] = __uint_as_float(w[j] & 0xffff0000u);
#endif
    }
}

// grid: (NUM_KV_HEADS, rows, partitions), block: NWARPS * 32. Outputs exactly as paged_attention.
extern "C" __global__ void __launch_bounds__(NWARPS * 32) decode_attention(
    const bf16_t* __restrict__ qkv, const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache,
    const int* __restrict__ block_tables, const int* __restrict__ row_ctx, const int* __restrict__ row_bt_off,
    int block_size, float scale, bf16_t* __restrict__ out, float* __restrict__ part_acc, float* __restrict__ part_ml)
{
    __shared__ float sm_m[NWARPS][GROUP];
    __shared__ float sm_l[NWARPS][GROUP];
    __shared__ float sm_acc[NWARPS][GROUP][HEAD_DIM];
    pdl_wait_and_release(); // launched programmatically (common.cuh)

    const int kh = blockIdx.x, row = blockIdx.y, part = blockIdx.z, parts = gridDim.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int sub = lane / LPP, d0 = (lane % LPP) * DPL;
    const int ctx = row_ctx[row];
    const int per = (ctx + parts - 1) / parts;
    const int start = part * per;
    const int end = min(ctx, start + per);
    const int* bt = block_tables + row_bt_off[row];

    float q[GROUP][DPL];
    const bf16_t* qrow = qkv + (u64)row * QKV_DIM + kh * GROUP * HEAD_DIM + d0;
#pragma unroll
    for (int g = 0; g < GROUP; g++)
#pragma unroll
        for (int j = 0; j < VPL; j++)
        {
            unpack_piece(*reinterpret_cast<const uint4*>(qrow + g * HEAD_DIM + j * 8), &q[g][j * 8]);
#pragma unroll
            for (int e = 0; e < 8; e++) q[g][j * 8 + e] *= scale;
        }

    float m[GROUP], l[GROUP], acc[GROUP][DPL];
#pragma unroll
    for (int g = 0; g < GROUP; g++)
    {
        m[g] = NEG_BIG; l[g] = 0.0f;
#pragma unroll
        for (int e = 0; e < DPL; e++) acc[g][e] = 0.0f;
    }

    for (int p0 = start + warp * (PPS * STEPS); p0 < end; p0 += NWARPS * PPS * STEPS)
    {
        unsigned kw[STEPS][KV_WORDS], vw[STEPS][KV_WORDS];
        float ksc[STEPS], vsc[STEPS]; // per-position dequantization scales (1 for bf16)
#pragma unroll
        for (int s = 0; s < STEPS; s++)
        {
            const int p = p0 + s * PPS + sub;
            ksc[s] = 1.0f; vsc[s] = 1.0f;
            if (p < end)
            {
                const int blk = bt[p / block_size], off = p % block_size;
                load_words(kv_row(k_cache, blk, kh, off, block_size) + d0, kw[s]);
                load_words(kv_row(v_cache, blk, kh, off, block_size) + d0, vw[s]);
#if KV_FP8
                ksc[s] = *kv_scale_ptr(k_cache, blk, kh, off, block_size) * 256.0f;
                vsc[s] = *kv_scale_ptr(v_cache, blk, kh, off, block_size) * 256.0f;
#endif
            }
            else
            {
#pragma unroll
                for (int j = 0; j < KV_WORDS; j++) { kw[s][j] = 0u; vw[s][j] = 0u; }
            }
        }

        // Scores of this lane group's positions, summed over the group's eight lanes.
        float sc[STEPS][GROUP];
#pragma unroll
        for (int s = 0; s < STEPS; s++)
        {
#pragma unroll
            for (int g = 0; g < GROUP; g++) sc[s][g] = 0.0f;
            float k[DPL];
            unpack_words(kw[s], k);
#pragma unroll
            for (int g = 0; g < GROUP; g++)
#pragma unroll
                for (int e = 0; e < DPL; e++) sc[s][g] = fmaf(q[g][e], k[e], sc[s][g]);
            const bool valid = p0 + s * PPS + sub < end;
#pragma unroll
            for (int g = 0; g < GROUP; g++)
            {
                float v = sc[s][g];
                v += __shfl_xor_sync(0xffffffffu, v, 1);
                v += __shfl_xor_sync(0xffffffffu, v, 2);
                v += __shfl_xor_sync(0xffffffffu, v, 4);
                sc[s][g] = valid ? v * ksc[s] : NEG_BIG;
            }
        }

        // One online-softmax update for the 16 positions: the tile maximum is warp-wide (p0 itself is valid, so it is finite).
#pragma unroll
        for (int g = 0; g < GROUP; g++)
        {
            float tile = sc[0][g];
#pragma unroll
            for (int s = 1; s < STEPS; s++) tile = fmaxf(tile, sc[s][g]);
            tile = fmaxf(tile, __shfl_xor_sync(0xffffffffu, tile, 8));
            tile = fmaxf(tile, __shfl_xor_sync(0xffffffffu, tile, 16));
            const float mn = fmaxf(m[g], tile);
            const float c = __expf(m[g] - mn);
            m[g] = mn;
            l[g] *= c;
#pragma unroll
            for (int e = 0; e < DPL; e++) acc[g][e] *= c;
#pragma unroll
            for (int s = 0; s < STEPS; s++) sc[s][g] = __expf(sc[s][g] - mn); // 0 for invalid positions
        }

#pragma unroll
        for (int s = 0; s < STEPS; s++)
        {
            float v[DPL];
            unpack_words(vw[s], v);
#pragma unroll
            for (int g = 0; g < GROUP; g++)
            {
                const float w = sc[s][g] * vsc[s];
#pragma unroll
                for (int e = 0; e < DPL; e++) acc[g][e] = fmaf(w, v[e], acc[g][e]);
                l[g] += sc[s][g];
            }
        }
    }

    // Sum the four lane groups (same dimensions, different positions; the running maxima are already warp-wide).
#pragma unroll
    for (int g = 0; g < GROUP; g++)
    {
        l[g] += __shfl_xor_sync(0xffffffffu, l[g], 8);
        l[g] += __shfl_xor_sync(0xffffffffu, l[g], 16);
#pragma unroll
        for (int e = 0; e < DPL; e++)
        {
            acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], 8);
            acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], 16);
        }
    }
    if (sub == 0)
    {
#pragma unroll
        for (int g = 0; g < GROUP; g++)
        {
            if (lane == 0) { sm_m[warp][g] = m[g]; sm_l[warp][g] = l[g]; }
#pragma unroll
            for (int e = 0; e < DPL; e++) sm_acc[warp][g][d0 + e] = acc[g][e];
        }
    }
    __syncthreads();
    combine_warps_and_store(sm_m, sm_l, sm_acc, kh, row, part, parts, out, part_acc, part_ml);
}
