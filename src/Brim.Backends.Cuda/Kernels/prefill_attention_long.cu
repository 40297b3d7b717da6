// Causal attention for long prefill chunks on tensor cores (mma.sync m16n8k16 bf16, fp32 accumulation), flash-attention
// 2 style: the long-tile variant of prefill_attention.cu, for slices PrefillTiling.UsesLongTiles gives it.
//
// Why a second kernel: a CTA reads the whole K/V context of its sequence from the paged cache for every query tile, so
// K/V traffic (and, with an FP8 cache, the dequantization) scales with context x tiles. The small-tile kernel holds 64
// query slots (16 token rows at GQA 4); this one holds QUERY_SLOTS (128: 8 warps x 16 slots, 32 rows at GQA 4), so each
// staged K/V tile feeds twice the MMAs. Beside that:
//   - K/V tiles of KT = 64 keys are double-buffered and loaded with cp.async, so the next tile streams in while the
//     MMAs run on this one (one __syncthreads a tile for bf16);
//   - B fragments come from shared memory by ldmatrix (K) and ldmatrix.trans (V): one instruction per two MMAs,
//     where the small-tile kernel issues two 32-bit loads (K) or four 16-bit loads (V) per MMA;
//   - with KV_FP8 the raw E4M3 codes and scales are what cp.async double-buffers; each tile is dequantized once into a
//     bf16 tile that all 8 warps read (a second __syncthreads a tile);
//   - the grid is (tiles, KV heads) with the tile index fastest, so the CTAs resident at once mostly share one KV head
//     and its K/V stays in L2 between them, and tiles run last-first: a chunk's last tiles see the longest context.
// A query tile is up to QROWS consecutive token rows of ONE sequence (the host cuts tiles at slice borders); its rows x
// GROUP query heads of one KV head form the CTA's query slots (slot = row * GROUP + head), so GQA heads share each K/V
// tile. Row r sees the first row_ctx[r] positions of its sequence (causal masking is the context length), keys advance
// with an online softmax.
// Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM, KV_FP8, and from PrefillTiling QUERY_SLOTS and TILE_ROW_BITS, so the
// host's tile rows and the kernel's come from one constant. Needs sm_80+, HEAD_DIM a multiple of 32 up to 128 (ldmatrix
// x4 covers two 16-wide k steps of K) and GROUP <= QUERY_SLOTS (LongPrefillAttentionKernel.Supports); other shapes
// compile to a stub that is never launched. Shared memory is dynamic (above the 48 KB static limit): the host passes
// LongPrefillAttentionKernel.SharedBytes, which the kernel checks against the formula below.
#include "common.cuh"
#include "kv_cache.cuh"

#define GROUP (NUM_HEADS / NUM_KV_HEADS)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)
#ifndef QUERY_SLOTS
#error "QUERY_SLOTS (PrefillTiling.LongQuerySlots) must come from the host: it sets the tile's row count there too"
#endif
#define SLOTS QUERY_SLOTS               // query slots of a CTA
#define WARPS (SLOTS / 16)
#define THREADS (WARPS * 32)
#define QROWS (SLOTS / GROUP)           // token rows of a query tile
#define NQ (QROWS * GROUP)              // used query slots (<= SLOTS)
#define KT 64                           // keys per K/V tile
#define STRIDE (HEAD_DIM + 8)           // smem row stride in bf16: 16-byte aligned rows, conflict-free ldmatrix
#define TILE_BYTES (KT * STRIDE * 2)    // one staged bf16 K (or V) tile
#if KV_FP8
#define RAW_STAGE_BYTES (2 * KT * HEAD_DIM + 2 * KT * 4)   // E4M3 codes of K and V, then their scales
#define SHARED_BYTES (2 * TILE_BYTES + 2 * RAW_STAGE_BYTES)
#else
#define SHARED_BYTES (4 * TILE_BYTES)   // two stages of K and V
#endif
// CTAs per SM the registers are fitted to: one. At HEAD_DIM 128 the Q fragments, O and S accumulators alone take 128
// registers a thread; at 64 a bound of two CTAs (128 registers) spilled 16 bytes under nvcc 11.8, so it is left at one.
#define MIN_CTAS 1
#define NEG_BIG (-1.0e30f)
#define NEG_INF (__int_as_float(0xff800000u))   // a masked score: its probability is forced to 0

#if SLOTS % 16 != 0 || !defined(TILE_ROW_BITS) || (SLOTS >> TILE_ROW_BITS) != 0
#error "QUERY_SLOTS must be whole warps of 16 mma rows, and TILE_ROW_BITS must hold a tile's row count"
#endif
#if SLOTS > 2 * KT
#error "the query tile is staged in the space of two K/V tiles"
#endif

#if HEAD_DIM % 32 == 0 && HEAD_DIM <= 128 && GROUP <= SLOTS && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#include "prefill_mma.cuh"

__device__ __forceinline__ unsigned dynamic_smem_bytes()
{
    unsigned n;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(n));
    return n;
}

#if KV_FP8
// Starts the copies of keys k0 .. k0 + KT - 1 (E4M3 codes and scales as they lie in the cache) into a raw stage; keys
// past max_ctx are zeros. Committed by the caller.
__device__ __forceinline__ void load_raw_tile_async(
    unsigned char* raw, const kv_t* k_cache, const kv_t* v_cache, const int* bt, int kh, int k0, int max_ctx, int block_size)
{
    unsigned char* kq = raw;
    unsigned char* vq = raw + KT * HEAD_DIM;
    float* ks = reinterpret_cast<float*>(raw + 2 * KT * HEAD_DIM);
    float* vs = ks + KT;
    constexpr int CHUNKS = HEAD_DIM / 16;
    for (int i = threadIdx.x; i < KT * CHUNKS; i += THREADS)
    {
        const int key = i / CHUNKS, c = i - key * CHUNKS;
        const int p = k0 + key;
        const bool live = p < max_ctx;
        const int blk = live ? bt[p / block_size] : 0, off = live ? p % block_size : 0;
        cp_async16(kq + key * HEAD_DIM + c * 16, kv_row(k_cache, blk, kh, off, block_size) + c * 16, live);
        cp_async16(vq + key * HEAD_DIM + c * 16, kv_row(v_cache, blk, kh, off, block_size) + c * 16, live);
        if (c == 0)
        {
            cp_async4(ks + key, kv_scale_ptr(k_cache, blk, kh, off, block_size), live);
            cp_async4(vs + key, kv_scale_ptr(v_cache, blk, kh, off, block_size), live);
        }
    }
}

// A raw stage → the bf16 K and V tiles the MMAs read: once per tile for all the CTA's query slots.
__device__ __forceinline__ void dequantize_tile(const unsigned char* raw, bf16_t* sk, bf16_t* sv)
{
    const unsigned char* kq = raw;
    const unsigned char* vq = raw + KT * HEAD_DIM;
    const float* ks = reinterpret_cast<const float*>(raw + 2 * KT * HEAD_DIM);
    const float* vs = ks + KT;
    constexpr int CHUNKS = HEAD_DIM / 16;
    for (int i = threadIdx.x; i < KT * CHUNKS; i += THREADS)
    {
        const int key = i / CHUNKS, c = i - key * CHUNKS;
        uint4 k16[2], v16[2];
        dequantize16(*reinterpret_cast<const uint4*>(kq + key * HEAD_DIM + c * 16), ks[key] * 256.0f, k16);
        dequantize16(*reinterpret_cast<const uint4*>(vq + key * HEAD_DIM + c * 16), vs[key] * 256.0f, v16);
        *reinterpret_cast<uint4*>(sk + key * STRIDE + c * 16) = k16[0];
        *reinterpret_cast<uint4*>(sk + key * STRIDE + c * 16 + 8) = k16[1];
        *reinterpret_cast<uint4*>(sv + key * STRIDE + c * 16) = v16[0];
        *reinterpret_cast<uint4*>(sv + key * STRIDE + c * 16 + 8) = v16[1];
    }
}
#else
// Starts the copies of keys k0 .. k0 + KT - 1 of K and V into a stage's bf16 tiles; keys past max_ctx are zeros.
// Committed by the caller.
__device__ __forceinline__ void load_tile_async(
    bf16_t* sk, bf16_t* sv, const kv_t* k_cache, const kv_t* v_cache, const int* bt, int kh, int k0, int max_ctx, int block_size)
{
    constexpr int CHUNKS = HEAD_DIM / 8;
    for (int i = threadIdx.x; i < KT * CHUNKS; i += THREADS)
    {
        const int key = i / CHUNKS, c = i - key * CHUNKS;
        const int p = k0 + key;
        const bool live = p < max_ctx;
        const int blk = live ? bt[p / block_size] : 0, off = live ? p % block_size : 0;
        cp_async16(sk + key * STRIDE + c * 8, kv_row(k_cache, blk, kh, off, block_size) + c * 8, live);
        cp_async16(sv + key * STRIDE + c * 8, kv_row(v_cache, blk, kh, off, block_size) + c * 8, live);
    }
}
#endif

// grid: (tiles, NUM_KV_HEADS), block: THREADS, dynamic shared memory: SHARED_BYTES.
// tiles[i] = first_row << TILE_ROW_BITS | row_count (row_count <= QROWS), all rows of one sequence.
// qkv: rows of [q | k | v] (q already rotated). out: [rows, Q_DIM] bf16.
extern "C" __global__ void __launch_bounds__(THREADS, MIN_CTAS) prefill_attention_long(
    const bf16_t* __restrict__ qkv, const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache,
    const int* __restrict__ block_tables, const int* __restrict__ row_ctx, const int* __restrict__ row_bt_off,
    const int* __restrict__ tiles, int block_size, float scale, bf16_t* __restrict__ out)
{
    extern __shared__ __align__(16) unsigned char smem[];
    __shared__ int sctx[QROWS];
    if (dynamic_smem_bytes() < SHARED_BYTES) __trap(); // the launcher's SharedBytes disagrees with this layout

    const int kh = blockIdx.y;
    const int tile = tiles[gridDim.x - 1 - blockIdx.x]; // last tiles first: they see the longest context
    const int r0 = tile >> TILE_ROW_BITS, nrows = tile & ((1 << TILE_ROW_BITS) - 1);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int gid = lane >> 2, tig = lane & 3;   // mma fragment coordinates: row group, thread in group
    const int* bt = block_tables + row_bt_off[r0];
    int max_ctx = 0;
    for (int rl = 0; rl < nrows; rl++) max_ctx = max(max_ctx, row_ctx[r0 + rl]);

    // Shared memory: bf16 tiles [stage][K | V] (bf16), or with FP8 one bf16 [K | V] and two raw stages behind it. The
    // query tile is staged where a K/V tile later goes (its fragments move to registers before that is overwritten).
#if KV_FP8
    bf16_t* sk = reinterpret_cast<bf16_t*>(smem);
    bf16_t* sv = reinterpret_cast<bf16_t*>(smem + TILE_BYTES);
    unsigned char* raw0 = smem + 2 * TILE_BYTES;
    bf16_t* sq = sk;
    if (max_ctx > 0) load_raw_tile_async(raw0, k_cache, v_cache, bt, kh, 0, max_ctx, block_size);
#else
    bf16_t* sq = reinterpret_cast<bf16_t*>(smem + 2 * TILE_BYTES);   // stage 1
    if (max_ctx > 0)
        load_tile_async(reinterpret_cast<bf16_t*>(smem), reinterpret_cast<bf16_t*>(smem + TILE_BYTES), k_cache, v_cache, bt, kh, 0, max_ctx, block_size);
#endif
    cp_async_commit();

    // Stage the tile's queries (slot = local_row * GROUP + g), zeros for unused slots, while tile 0 streams in.
    for (int i = threadIdx.x; i < SLOTS * (HEAD_DIM / 8); i += THREADS)
    {
        const int slot = i / (HEAD_DIM / 8), c = i - slot * (HEAD_DIM / 8);
        const int rl = slot / GROUP, g = slot - rl * GROUP;
        uint4 v = make_uint4(0u, 0u, 0u, 0u);
        if (slot < NQ && rl < nrows)
            v = *reinterpret_cast<const uint4*>(qkv + (u64)(r0 + rl) * QKV_DIM + (kh * GROUP + g) * HEAD_DIM + c * 8);
        *reinterpret_cast<uint4*>(sq + slot * STRIDE + c * 8) = v;
    }
    if (threadIdx.x < QROWS) sctx[threadIdx.x] = threadIdx.x < nrows ? row_ctx[r0 + threadIdx.x] : 0;
    __syncthreads();

    // This thread's two query slots (fragment rows gid and gid + 8 of the warp's 16) and what they may see.
    const int qa = warp * 16 + gid, qb = qa + 8;
    const int ctx_a = qa < NQ ? sctx[qa / GROUP] : 0;
    const int ctx_b = qb < NQ ? sctx[qb / GROUP] : 0;
    const int ctx_min = min(ctx_a, ctx_b);

    unsigned qf[HEAD_DIM / 16][4];
    load_q_fragments(qf, sq, qa, qb, tig);

    float o[HEAD_DIM / 8][4];
#pragma unroll
    for (int n = 0; n < HEAD_DIM / 8; n++) { o[n][0] = 0.0f; o[n][1] = 0.0f; o[n][2] = 0.0f; o[n][3] = 0.0f; }
    float m_a = NEG_BIG, m_b = NEG_BIG, l_a = 0.0f, l_b = 0.0f;

    // ldmatrix row addresses of this lane within a tile: K rows are keys (lane & 7) of an 8-key block, matrices j =
    // lane / 8 at columns 8j (b0, b1 of two k steps); V rows are keys (lane & 15) of a 16-key step, matrices at
    // columns 8 (lane / 16) (b0, b1 of two 8-wide output blocks).
    const int k_lane = (lane & 7) * STRIDE + (lane >> 3) * 8;
    const int v_lane = (lane & 15) * STRIDE + (lane >> 4) * 8;

    for (int k0 = 0, stage = 0; k0 < max_ctx; k0 += KT, stage ^= 1)
    {
        cp_async_wait_all();
        __syncthreads(); // tile k0 has landed for every thread, and every warp is done with the previous tile (and Q)
        const bool more = k0 + KT < max_ctx;
#if KV_FP8
        unsigned char* raw = smem + 2 * TILE_BYTES + stage * RAW_STAGE_BYTES;
        if (more) load_raw_tile_async(smem + 2 * TILE_BYTES + (stage ^ 1) * RAW_STAGE_BYTES, k_cache, v_cache, bt, kh, k0 + KT, max_ctx, block_size);
        cp_async_commit();
        dequantize_tile(raw, sk, sv);
        __syncthreads();
        const bf16_t* tk = sk;
        const bf16_t* tv = sv;
#else
        if (more)
        {
            unsigned char* next = smem + (stage ^ 1) * 2 * TILE_BYTES;
            load_tile_async(reinterpret_cast<bf16_t*>(next), reinterpret_cast<bf16_t*>(next + TILE_BYTES), k_cache, v_cache, bt, kh, k0 + KT, max_ctx, block_size);
        }
        cp_async_commit();
        const bf16_t* tk = reinterpret_cast<const bf16_t*>(smem + stage * 2 * TILE_BYTES);
        const bf16_t* tv = reinterpret_cast<const bf16_t*>(smem + stage * 2 * TILE_BYTES + TILE_BYTES);
#endif

        // S = Q Kᵀ: 16 query slots x KT keys per warp, as KT/8 accumulators of 16x8.
        float s[KT / 8][4];
#pragma unroll
        for (int n = 0; n < KT / 8; n++)
        {
            s[n][0] = 0.0f; s[n][1] = 0.0f; s[n][2] = 0.0f; s[n][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < HEAD_DIM / 16; kk += 2)
            {
                unsigned b[4];
                ldmatrix_x4(b, tk + n * 8 * STRIDE + kk * 16 + k_lane);
                mma_bf16(s[n], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b[0], b[1]);
                mma_bf16(s[n], qf[kk + 1][0], qf[kk + 1][1], qf[kk + 1][2], qf[kk + 1][3], b[2], b[3]);
            }
        }

        // A tile both slots see whole (all but the diagonal of a long context) skips the mask.
        online_softmax_tile(s, o, k0, tig, ctx_a, ctx_b, k0 + KT <= ctx_min, scale, m_a, m_b, l_a, l_b);

        // O += P V: the S accumulators of two adjacent 8-key blocks are exactly the A fragment of a 16-key step.
#pragma unroll
        for (int ks = 0; ks < KT / 16; ks++)
        {
            const unsigned a0 = pack_bf16(s[2 * ks][0], s[2 * ks][1]);
            const unsigned a1 = pack_bf16(s[2 * ks][2], s[2 * ks][3]);
            const unsigned a2 = pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
            const unsigned a3 = pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
#pragma unroll
            for (int n = 0; n < HEAD_DIM / 8; n += 2)
            {
                unsigned b[4];
                ldmatrix_x4_trans(b, tv + ks * 16 * STRIDE + n * 8 + v_lane);
                mma_bf16(o[n], a0, a1, a2, a3, b[0], b[1]);
                mma_bf16(o[n + 1], a0, a1, a2, a3, b[2], b[3]);
            }
        }
    }

    write_slots(o, l_a, l_b, out, r0, kh, qa, qb, tig, nrows);
}

#else

// Unsupported shape or architecture: the host never launches this (LongPrefillAttentionKernel.Supports).
extern "C" __global__ void prefill_attention_long(
    const bf16_t* qkv, const kv_t* k_cache, const kv_t* v_cache, const int* block_tables, const int* row_ctx,
    const int* row_bt_off, const int* tiles, int block_size, float scale, bf16_t* out)
{
    __trap();
}

#endif
