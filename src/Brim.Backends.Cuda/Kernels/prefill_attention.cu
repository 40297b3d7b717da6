// Causal attention for prefill steps on tensor cores (mma.sync m16n8k16 bf16, fp32 accumulation), flash-attention 2
// style: the small-tile variant, for short chunks and verify slices (prefill_attention_long.cu serves chunks of many
// rows; PrefillTiling.UsesLongTiles chooses per slice). A query tile is up to QROWS consecutive token rows of ONE
// sequence (the host cuts tiles at slice borders); its rows x GROUP query heads of one KV head form the QUERY_SLOTS
// (64: 4 warps x 16) query slots of the CTA, so each K/V tile is read from the paged cache once for all query heads
// sharing it (GQA). Keys advance in tiles of KT positions with an online softmax; row r sees the first row_ctx[r]
// positions of its sequence (causal masking is the context length).
// Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, and from PrefillTiling QUERY_SLOTS and TILE_ROW_BITS (the packing of
// a tile entry), so the host's tile rows and the kernel's come from one constant. Needs sm_80+ and HEAD_DIM a multiple
// of 16 up to 128 (the host checks PrefillAttentionKernel.Supports); other shapes compile to a stub that is never
// launched. With KV_FP8 the K/V tiles are dequantized (E4M3 x the position's scale) to bf16 as they are staged in
// shared memory.
#include "common.cuh"
#include "kv_cache.cuh"

#define GROUP (NUM_HEADS / NUM_KV_HEADS)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)
#ifndef QUERY_SLOTS
#error "QUERY_SLOTS (PrefillAttentionKernel.QuerySlots) must come from the host: it sets the tile's row count there too"
#endif
#define SLOTS QUERY_SLOTS               // query slots of a CTA
#define WARPS (SLOTS / 16)
#define QROWS (SLOTS / GROUP)           // token rows of a query tile
#define NQ (QROWS * GROUP)              // used query slots (<= SLOTS)
#define KT 32                           // keys per tile
#define STRIDE (HEAD_DIM + 8)           // smem row stride in bf16: 16-byte aligned rows, conflict-free fragments
#define NEG_BIG (-1.0e30f)
#define NEG_INF (__int_as_float(0xff800000u))   // a masked score: its probability is forced to 0

#if SLOTS % 16 != 0 || !defined(TILE_ROW_BITS) || (SLOTS >> TILE_ROW_BITS) != 0
#error "QUERY_SLOTS must be whole warps of 16 mma rows, and TILE_ROW_BITS must hold a tile's row count"
#endif

#if HEAD_DIM % 16 == 0 && HEAD_DIM <= 128 && GROUP <= SLOTS && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#include "prefill_mma.cuh"

// grid: (NUM_KV_HEADS, tiles), block: WARPS * 32. tiles[i] = first_row << TILE_ROW_BITS | row_count (row_count <= QROWS).
// qkv: rows of [q | k | v] (q already rotated). out: [rows, Q_DIM] bf16.
extern "C" __global__ void __launch_bounds__(WARPS * 32) prefill_attention(
    const bf16_t* __restrict__ qkv, const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache,
    const int* __restrict__ block_tables, const int* __restrict__ row_ctx, const int* __restrict__ row_bt_off,
    const int* __restrict__ tiles, int block_size, float scale, bf16_t* __restrict__ out)
{
    __shared__ __align__(16) bf16_t sq[SLOTS * STRIDE];
    __shared__ __align__(16) bf16_t sk[KT * STRIDE];
    __shared__ __align__(16) bf16_t sv[KT * STRIDE];
    __shared__ int sctx[QROWS];

    const int kh = blockIdx.x;
    const int tile = tiles[blockIdx.y];
    const int r0 = tile >> TILE_ROW_BITS, nrows = tile & ((1 << TILE_ROW_BITS) - 1);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int gid = lane >> 2, tig = lane & 3;   // mma fragment coordinates: row group, thread in group
    const int* bt = block_tables + row_bt_off[r0];

    // Stage the tile's queries (slot = local_row * GROUP + g) in shared memory, zeros for unused slots.
    for (int i = threadIdx.x; i < SLOTS * (HEAD_DIM / 8); i += WARPS * 32)
    {
        const int slot = i / (HEAD_DIM / 8), c = i - slot * (HEAD_DIM / 8);
        const int rl = slot / GROUP, g = slot - rl * GROUP;
        uint4 v = make_uint4(0u, 0u, 0u, 0u);
        if (slot < NQ && rl < nrows)
            v = *reinterpret_cast<const uint4*>(qkv + (u64)(r0 + rl) * QKV_DIM + (kh * GROUP + g) * HEAD_DIM + c * 8);
        *reinterpret_cast<uint4*>(sq + slot * STRIDE + c * 8) = v;
    }
    int max_ctx = 0;
    for (int rl = 0; rl < nrows; rl++) max_ctx = max(max_ctx, row_ctx[r0 + rl]);
    if (threadIdx.x < QROWS) sctx[threadIdx.x] = threadIdx.x < nrows ? row_ctx[r0 + threadIdx.x] : 0;
    __syncthreads();

    // This thread's two query slots (fragment rows gid and gid + 8 of the warp's 16) and what they may see.
    const int qa = warp * 16 + gid, qb = qa + 8;
    const int ctx_a = qa < NQ ? sctx[qa / GROUP] : 0;
    const int ctx_b = qb < NQ ? sctx[qb / GROUP] : 0;

    unsigned qf[HEAD_DIM / 16][4];
    load_q_fragments(qf, sq, qa, qb, tig);

    float o[HEAD_DIM / 8][4];
#pragma unroll
    for (int n = 0; n < HEAD_DIM / 8; n++) { o[n][0] = 0.0f; o[n][1] = 0.0f; o[n][2] = 0.0f; o[n][3] = 0.0f; }
    float m_a = NEG_BIG, m_b = NEG_BIG, l_a = 0.0f, l_b = 0.0f;

    for (int k0 = 0; k0 < max_ctx; k0 += KT)
    {
        __syncthreads(); // the previous tile's K/V reads are done
#if KV_FP8
        for (int i = threadIdx.x; i < KT * (HEAD_DIM / 16); i += WARPS * 32)
        {
            const int key = i / (HEAD_DIM / 16), c = i - key * (HEAD_DIM / 16);
            const int p = k0 + key;
            uint4 k16[2] = {make_uint4(0u, 0u, 0u, 0u), make_uint4(0u, 0u, 0u, 0u)}, v16[2] = {k16[0], k16[0]};
            if (p < max_ctx)
            {
                const int blk = bt[p / block_size], off = p % block_size;
                const uint4 kq = *reinterpret_cast<const uint4*>(kv_row(k_cache, blk, kh, off, block_size) + c * 16);
                const uint4 vq = *reinterpret_cast<const uint4*>(kv_row(v_cache, blk, kh, off, block_size) + c * 16);
                dequantize16(kq, *kv_scale_ptr(k_cache, blk, kh, off, block_size) * 256.0f, k16);
                dequantize16(vq, *kv_scale_ptr(v_cache, blk, kh, off, block_size) * 256.0f, v16);
            }
            *reinterpret_cast<uint4*>(sk + key * STRIDE + c * 16) = k16[0];
            *reinterpret_cast<uint4*>(sk + key * STRIDE + c * 16 + 8) = k16[1];
            *reinterpret_cast<uint4*>(sv + key * STRIDE + c * 16) = v16[0];
            *reinterpret_cast<uint4*>(sv + key * STRIDE + c * 16 + 8) = v16[1];
        }
#else
        for (int i = threadIdx.x; i < KT * (HEAD_DIM / 8); i += WARPS * 32)
        {
            const int key = i / (HEAD_DIM / 8), c = i - key * (HEAD_DIM / 8);
            const int p = k0 + key;
            uint4 kv = make_uint4(0u, 0u, 0u, 0u), vv = kv;
            if (p < max_ctx)
            {
                const int blk = bt[p / block_size], off = p % block_size;
                kv = *reinterpret_cast<const uint4*>(kv_row(k_cache, blk, kh, off, block_size) + c * 8);
                vv = *reinterpret_cast<const uint4*>(kv_row(v_cache, blk, kh, off, block_size) + c * 8);
            }
            *reinterpret_cast<uint4*>(sk + key * STRIDE + c * 8) = kv;
            *reinterpret_cast<uint4*>(sv + key * STRIDE + c * 8) = vv;
        }
#endif
        __syncthreads();

        // S = Q Kᵀ: 16 query slots x KT keys per warp, as KT/8 accumulators of 16x8.
        float s[KT / 8][4];
#pragma unroll
        for (int n = 0; n < KT / 8; n++)
        {
            s[n][0] = 0.0f; s[n][1] = 0.0f; s[n][2] = 0.0f; s[n][3] = 0.0f;
            const bf16_t* krow = sk + (n * 8 + gid) * STRIDE + tig * 2;
#pragma unroll
            for (int kk = 0; kk < HEAD_DIM / 16; kk++)
            {
                const unsigned b0 = *reinterpret_cast<const unsigned*>(krow + kk * 16);
                const unsigned b1 = *reinterpret_cast<const unsigned*>(krow + kk * 16 + 8);
                mma_bf16(s[n], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b0, b1);
            }
        }

        online_softmax_tile(s, o, k0, tig, ctx_a, ctx_b, false, scale, m_a, m_b, l_a, l_b);

        // O += P V: the S accumulators of two adjacent 8-key blocks are exactly the A fragment of a 16-key step.
#pragma unroll
        for (int ks = 0; ks < KT / 16; ks++)
        {
            const unsigned a0 = pack_bf16(s[2 * ks][0], s[2 * ks][1]);
            const unsigned a1 = pack_bf16(s[2 * ks][2], s[2 * ks][3]);
            const unsigned a2 = pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
            const unsigned a3 = pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
            const bf16_t* v0 = sv + (ks * 16 + tig * 2) * STRIDE + gid;
#pragma unroll
            for (int n = 0; n < HEAD_DIM / 8; n++)
            {
                const bf16_t* vp = v0 + n * 8;
                const unsigned b0 = pack_raw(vp[0], vp[STRIDE]);
                const unsigned b1 = pack_raw(vp[8 * STRIDE], vp[9 * STRIDE]);
                mma_bf16(o[n], a0, a1, a2, a3, b0, b1);
            }
        }
    }

    write_slots(o, l_a, l_b, out, r0, kh, qa, qb, tig, nrows);
}

#else

// Unsupported shape or architecture: the host never launches this (PrefillAttentionKernel.Supports).
extern "C" __global__ void prefill_attention(
    const bf16_t* qkv, const kv_t* k_cache, const kv_t* v_cache, const int* block_tables, const int* row_ctx,
    const int* row_bt_off, const int* tiles, int block_size, float scale, bf16_t* out)
{
    __trap();
}

#endif
