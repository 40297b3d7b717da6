// Paged decode attention over an FP8 (E4M3) KV cache on tensor cores. Same grid, arguments and outputs as
// decode_attention.cu (attention_reduce in attention.cu combines partitions); serves HEAD_DIM 128 with GROUP <= 8.
//
// Why tensor cores for decode: an FP8 cache halves the bytes per position, so a kernel that spends ~6 instructions
// per cached value on CUDA cores (unpack, scale, GROUP fused multiply-adds) stops at ~1.3 TB/s, no faster than bf16
// per position. Here each warp takes 16 positions at a time as the M side of mma.m16n8k16 (f16 in, f32 out):
//   S^T[pos][q] = K[pos][d] · Q^T[d][q]        (the GROUP query heads of the KV head are the 8 N columns)
//   O^T[d][q]  += V^T[d][pos] · P'^T[pos][q]   (P' = softmax numerator x the position's V scale x 256)
// E4M3 becomes f16 by moving bit fields (value / 256, exact), so the inner loop is a few integer ops per 4 values plus
// 16 mma per 16 positions. Fragment layouts are free where a sum runs: the dimension order inside each K word is
// chosen so a 4-byte word of K is directly an A fragment pair (even bytes, odd bytes), and each lane owns 16
// consecutive output dimensions of V so its V loads are whole 16-byte rows. P' goes through shared memory to turn
// the C layout of S^T into the B layout of the second product.
// Memory: half of bf16's bytes per position means twice the positions must be in flight to stream at the same rate.
// Tiles therefore reach shared memory by cp.async through a pipeline of STAGES stages per warp (STAGES - 1 tiles in
// flight while one is computed) instead of registers, which bounded the tiles in flight (and the CTAs per SM).
// Compile-time: NUM_HEADS, NUM_KV_HEADS, HEAD_DIM (128), KV_FP8 (1), STAGES. Dynamic shared memory: NWARPS x STAGES x
// STAGE_BYTES (AttentionKernel.Fp8DecodeSharedBytes). Needs sm_89+ (the host checks).
#include "common.cuh"
#include "kv_cache.cuh"

#define GROUP (NUM_HEADS / NUM_KV_HEADS)
#define Q_DIM (NUM_HEADS * HEAD_DIM)
#define KV_DIM (NUM_KV_HEADS * HEAD_DIM)
#define QKV_DIM (Q_DIM + 2 * KV_DIM)
#define NWARPS 4
#define TILE 16                 // positions per mma tile
#ifndef STAGES
#define STAGES 3                // shared-memory stages of a warp's cp.async pipeline (AttentionKernel sizes them)
#endif
#define NEG_BIG (-1.0e30f)
#include "attention_combine.cuh"

#if KV_FP8 && HEAD_DIM == 128 && GROUP <= 8 && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890

#include "cp_async.cuh"

__device__ __forceinline__ void mma_f16(float* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned pack_half2(float lo, float hi)
{
    return (unsigned)float_to_half_bits(lo) | ((unsigned)float_to_half_bits(hi) << 16);
}

// Block and offset of position p: shifts when the block size is a power of two (always, in practice), which saves
// the integer divisions per lane and tile that would otherwise cost as much as the tile's arithmetic.
struct BlockIndex
{
    int size, shift; // shift < 0: not a power of two
    __device__ __forceinline__ void of(int p, int* blk, int* off) const
    {
        if (shift >= 0) { *blk = p >> shift; *off = p & (size - 1); }
        else { *blk = p / size; *off = p - (p / size) * size; }
    }
};

// One stage of a warp's pipeline: a 16-position tile's K and V codes (a row of HEAD_DIM bytes per position, its 16-byte
// chunks XOR-swizzled by the row so that the fragment reads below hit distinct banks) and their scales.
#define STAGE_K 0
#define STAGE_V (TILE * HEAD_DIM)
#define STAGE_SCALES (2 * TILE * HEAD_DIM)           // K scales [TILE], then V scales [TILE]
#define STAGE_BYTES (STAGE_SCALES + 2 * TILE * 4)

__device__ __forceinline__ int swizzled(int row, int chunk) { return row * HEAD_DIM + ((chunk ^ (row & 7)) << 4); }

// The warp copies the tile at p0 into a stage with cp.async: lane l takes chunk l % 8 of rows l / 8 + 4 i (K and V),
// and lanes 0-15 / 16-31 the K / V scale of position l % 16. Positions past `end` become zeros (finite: a masked
// probability is 0, and 0 x NaN would still be NaN).
__device__ __forceinline__ void issue_tile(unsigned char* stage, int p0, int end, const int* bt, BlockIndex bi, int kh, int lane,
                                           const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache)
{
    const int chunk = lane & 7;
#pragma unroll
    for (int i = 0; i < TILE / 4; i++)
    {
        const int r = (lane >> 3) + 4 * i, p = p0 + r;
        const bool live = p < end;
        int blk = 0, off = 0;
        if (live) { int b; bi.of(p, &b, &off); blk = bt[b]; }
        cp_async16(stage + STAGE_K + swizzled(r, chunk), kv_row(k_cache, blk, kh, off, bi.size) + chunk * 16, live);
        cp_async16(stage + STAGE_V + swizzled(r, chunk), kv_row(v_cache, blk, kh, off, bi.size) + chunk * 16, live);
    }
    const int r = lane & (TILE - 1), p = p0 + r;
    const bool live = p < end;
    int blk = 0, off = 0;
    if (live) { int b; bi.of(p, &b, &off); blk = bt[b]; }
    cp_async4(stage + STAGE_SCALES + lane * 4, kv_scale_ptr(lane < TILE ? k_cache : v_cache, blk, kh, off, bi.size), live);
}

// grid: (NUM_KV_HEADS, rows, partitions), block: NWARPS * 32. Outputs exactly as paged_attention.
extern "C" __global__ void __launch_bounds__(NWARPS * 32) decode_attention_fp8(
    const bf16_t* __restrict__ qkv, const kv_t* __restrict__ k_cache, const kv_t* __restrict__ v_cache,
    const int* __restrict__ block_tables, const int* __restrict__ row_ctx, const int* __restrict__ row_bt_off,
    int block_size, float scale, bf16_t* __restrict__ out, float* __restrict__ part_acc, float* __restrict__ part_ml)
{
    __shared__ float sm_m[NWARPS][GROUP];
    __shared__ float sm_l[NWARPS][GROUP];
    __shared__ __align__(4) unsigned short sm_p[NWARPS][TILE][8]; // P' as f16, [position][query]
    extern __shared__ __align__(16) unsigned char staged[];      // NWARPS x STAGES stages; after the loop, sm_acc
    pdl_wait_and_release(); // launched programmatically (common.cuh)

    const int kh = blockIdx.x, row = blockIdx.y, part = blockIdx.z, parts = gridDim.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int gid = lane >> 2, tig = lane & 3;
    const int ctx = row_ctx[row];
    const int per = (ctx + parts - 1) / parts;
    const int start = part * per;
    const int end = min(ctx, start + per);
    const int* bt = block_tables + row_bt_off[row];
    const BlockIndex bi = {block_size, (block_size & (block_size - 1)) == 0 ? __ffs(block_size) - 1 : -1};

    // Q^T as B fragments: query gid (zero columns past GROUP), dimensions tig * 32 + kk * 4 + {0, 2} and {1, 3}.
    unsigned qb[8][2];
#pragma unroll
    for (int kk = 0; kk < 8; kk++) { qb[kk][0] = 0u; qb[kk][1] = 0u; }
    if (gid < GROUP)
    {
        const bf16_t* q = qkv + (u64)row * QKV_DIM + (kh * GROUP + gid) * HEAD_DIM + tig * 32;
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
        {
            const uint2 v = *reinterpret_cast<const uint2*>(q + kk * 4);
            const float q0 = __uint_as_float(v.x << 16) * scale, q1 = __uint_as_float(v.x & 0xffff0000u) * scale;
            const float q2 = __uint_as_float(v.y << 16) * scale, q3 = __uint_as_float(v.y & 0xffff0000u) * scale;
            qb[kk][0] = pack_half2(q0, q2);
            qb[kk][1] = pack_half2(q1, q3);
        }
    }

    // Online softmax state of this lane's two query columns (2 tig, 2 tig + 1); O^T accumulators of 8 dimension tiles.
    float m0 = NEG_BIG, m1 = NEG_BIG, l0 = 0.0f, l1 = 0.0f;
    float o[8][4];
#pragma unroll
    for (int mt = 0; mt < 8; mt++) { o[mt][0] = 0.0f; o[mt][1] = 0.0f; o[mt][2] = 0.0f; o[mt][3] = 0.0f; }

    // Each warp walks its own tiles (every NWARPS-th of the partition) through a pipeline of STAGES shared-memory
    // stages: STAGES - 1 tiles are in flight (cp.async) while it computes one, so the memory system always holds
    // work, independently of registers. Only the warp touches its stages: __syncwarp, never __syncthreads, in the loop.
    unsigned char* stages = staged + warp * (STAGES * STAGE_BYTES);
    const int stride = NWARPS * TILE;
    const int first = start + warp * TILE;
#pragma unroll
    for (int k = 0; k < STAGES - 1; k++)
    {
        const int p0 = first + k * stride;
        if (p0 < end) issue_tile(stages + k * STAGE_BYTES, p0, end, bt, bi, kh, lane, k_cache, v_cache);
        cp_async_commit(); // one group per tile, empty ones included, so the wait below counts tiles
    }

    int k = 0;
    for (int p0 = first; p0 < end; p0 += stride, k++)
    {
        const int ahead = p0 + (STAGES - 1) * stride;
        if (ahead < end) issue_tile(stages + ((k + STAGES - 1) % STAGES) * STAGE_BYTES, ahead, end, bt, bi, kh, lane, k_cache, v_cache);
        cp_async_commit();
        cp_async_wait_pending<STAGES - 1>(); // this lane's copies of tile k have landed
        __syncwarp();                        // and every lane's are visible
        const unsigned char* st = stages + (k % STAGES) * STAGE_BYTES;

        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f}; // S^T: (pos gid, q 2tig), (gid, 2tig+1), (gid+8, 2tig), (gid+8, 2tig+1)
        {
            // K rows gid and gid + 8, dimensions tig * 32 .. + 31: chunks 2 tig and 2 tig + 1 of each row.
            const uint4 ka0 = *reinterpret_cast<const uint4*>(st + STAGE_K + swizzled(gid, 2 * tig));
            const uint4 ka1 = *reinterpret_cast<const uint4*>(st + STAGE_K + swizzled(gid, 2 * tig + 1));
            const uint4 kb0 = *reinterpret_cast<const uint4*>(st + STAGE_K + swizzled(gid + 8, 2 * tig));
            const uint4 kb1 = *reinterpret_cast<const uint4*>(st + STAGE_K + swizzled(gid + 8, 2 * tig + 1));
            const unsigned ka[8] = {ka0.x, ka0.y, ka0.z, ka0.w, ka1.x, ka1.y, ka1.z, ka1.w};
            const unsigned kb[8] = {kb0.x, kb0.y, kb0.z, kb0.w, kb1.x, kb1.y, kb1.z, kb1.w};
#pragma unroll
            for (int kk = 0; kk < 8; kk++)
            {
                unsigned a0, a1, a2, a3;
                fp8x4_to_half2x2_div256(ka[kk], &a0, &a2);
                fp8x4_to_half2x2_div256(kb[kk], &a1, &a3);
                mma_f16(s, a0, a1, a2, a3, qb[kk][0], qb[kk][1]);
            }
        }
        const float* scales = reinterpret_cast<const float*>(st + STAGE_SCALES);
        const float ks0 = scales[gid] * 256.0f, ks1 = scales[gid + 8] * 256.0f;
        const float vs0 = scales[TILE + gid] * 256.0f, vs1 = scales[TILE + gid + 8] * 256.0f;
        const bool valid_a = p0 + gid < end, valid_b = p0 + gid + 8 < end;
        s[0] = valid_a ? s[0] * ks0 : NEG_BIG;
        s[1] = valid_a ? s[1] * ks0 : NEG_BIG;
        s[2] = valid_b ? s[2] * ks1 : NEG_BIG;
        s[3] = valid_b ? s[3] * ks1 : NEG_BIG;

        // Tile maxima per column over the 16 positions (the 8 lanes of a tig); p0 itself is valid, so finite.
        float mx0 = fmaxf(s[0], s[2]), mx1 = fmaxf(s[1], s[3]);
#pragma unroll
        for (int o_ = 4; o_ < 32; o_ <<= 1)
        {
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, o_));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, o_));
        }
        const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
        const float c0 = __expf(m0 - mn0), c1 = __expf(m1 - mn1);
        m0 = mn0; m1 = mn1;
        const float p00 = __expf(s[0] - mn0), p01 = __expf(s[1] - mn1), p10 = __expf(s[2] - mn0), p11 = __expf(s[3] - mn1);
        l0 = l0 * c0 + p00 + p10;
        l1 = l1 * c1 + p01 + p11;
#pragma unroll
        for (int mt = 0; mt < 8; mt++) { o[mt][0] *= c0; o[mt][1] *= c1; o[mt][2] *= c0; o[mt][3] *= c1; }

        // P' (x the position's V scale) through shared memory: written as S^T's C layout, read as the B layout.
        unsigned* prow = reinterpret_cast<unsigned*>(&sm_p[warp][0][0]);
        prow[(gid * 8 + 2 * tig) / 2] = pack_half2(p00 * vs0, p01 * vs0);
        prow[((gid + 8) * 8 + 2 * tig) / 2] = pack_half2(p10 * vs1, p11 * vs1);
        __syncwarp();
        const unsigned b0 = (unsigned)sm_p[warp][2 * tig][gid] | ((unsigned)sm_p[warp][2 * tig + 1][gid] << 16);
        const unsigned b1 = (unsigned)sm_p[warp][2 * tig + 8][gid] | ((unsigned)sm_p[warp][2 * tig + 9][gid] << 16);

        // V rows 2 tig, 2 tig + 1, 2 tig + 8, 2 tig + 9, dimensions gid * 16 .. + 15 (chunk gid of each row).
        // O^T tile mt: row gid is dimension gid * 16 + 2 mt, row gid + 8 the next one; its bytes sit at 2 mt of the
        // lane's 16-byte V rows, so one byte permute pairs the two positions of each fragment half.
        uint4 vr[4];
#pragma unroll
        for (int i = 0; i < 4; i++)
        {
            const int r = 2 * tig + (i & 1) + 8 * (i >> 1);
            vr[i] = *reinterpret_cast<const uint4*>(st + STAGE_V + swizzled(r, gid));
        }
        const unsigned v[4][4] = {{vr[0].x, vr[0].y, vr[0].z, vr[0].w}, {vr[1].x, vr[1].y, vr[1].z, vr[1].w},
                                  {vr[2].x, vr[2].y, vr[2].z, vr[2].w}, {vr[3].x, vr[3].y, vr[3].z, vr[3].w}};
#pragma unroll
        for (int mt = 0; mt < 8; mt++)
        {
            const int j = mt >> 1;
            const unsigned sel = (mt & 1) ? 0x7632u : 0x5410u;
            unsigned a0, a1, a2, a3;
            fp8x4_to_half2x2_div256(__byte_perm(v[0][j], v[1][j], sel), &a0, &a1);
            fp8x4_to_half2x2_div256(__byte_perm(v[2][j], v[3][j], sel), &a2, &a3);
            mma_f16(o[mt], a0, a1, a2, a3, b0, b1);
        }
        __syncwarp(); // every lane is done with this stage (and sm_p) before the warp refills it
    }
    cp_async_wait_all(); // trailing (empty) groups
    __syncthreads();     // every warp is done with the stages: sm_acc reuses them
    float (*sm_acc)[GROUP][HEAD_DIM] = reinterpret_cast<float (*)[GROUP][HEAD_DIM]>(staged);

    // Denominators over the 8 lanes of a column; then the shared-memory layout combine_warps_and_store expects.
#pragma unroll
    for (int o_ = 4; o_ < 32; o_ <<= 1)
    {
        l0 += __shfl_xor_sync(0xffffffffu, l0, o_);
        l1 += __shfl_xor_sync(0xffffffffu, l1, o_);
    }
    const int q0 = 2 * tig, q1 = 2 * tig + 1;
    if (gid == 0)
    {
        if (q0 < GROUP) { sm_m[warp][q0] = m0; sm_l[warp][q0] = l0; }
        if (q1 < GROUP) { sm_m[warp][q1] = m1; sm_l[warp][q1] = l1; }
    }
#pragma unroll
    for (int mt = 0; mt < 8; mt++)
    {
        const int d = gid * 16 + 2 * mt;
        if (q0 < GROUP) { sm_acc[warp][q0][d] = o[mt][0]; sm_acc[warp][q0][d + 1] = o[mt][2]; }
        if (q1 < GROUP) { sm_acc[warp][q1][d] = o[mt][1]; sm_acc[warp][q1][d + 1] = o[mt][3]; }
    }
    __syncthreads();
    combine_warps_and_store(sm_m, sm_l, sm_acc, kh, row, part, parts, out, part_acc, part_ml);
}

#else

// Unsupported shape or architecture: the host never launches this (AttentionKernel.TensorCoreFp8Supports).
extern "C" __global__ void decode_attention_fp8(
    const bf16_t* qkv, const kv_t* k_cache, const kv_t* v_cache, const int* block_tables, const int* row_ctx,
    const int* row_bt_off, int block_size, float scale, bf16_t* out, float* part_acc, float* part_ml)
{
    __trap();
}

#endif
