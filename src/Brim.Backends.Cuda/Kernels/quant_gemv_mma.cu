// Weight-only quantized linear layers for decode steps of up to 32 token rows on tensor cores: y[m, n] = sum_k x[m, k] *
// w[n, k], w in quant.cuh's int4 or int8 layout (groups of a multiple of 128 inputs) or FP8 layout (QUANT_FORMAT, set by
// the launcher). quant_gemv.cu spends three to four CUDA-core instructions a weight (unpack, convert, product); here the
// unpacked codes go straight into mma.sync m16n8k16 bf16 A fragments and the products cost the tensor cores, which a
// decode step leaves idle: int4 under one instruction a weight (a lop3 a pair, a shift every other pair), FP8 under two
// (E4M3 bits moved into bf16's fields, then one bf16x2 multiply by 2^120 puts the exponent right, subnormals exact),
// int8 under two (its nibbles as two exact bf16 fragments, 128 + L and 2048 + 16·H, one mma each).
// The n8 side of the mma holds the token rows: 1 to 8 cost the same, and NT n8 tiles take up to 32.
//
// Which inputs meet in an mma is free as long as A and B agree, so each lane streams its own 32 inputs of a weight row
// (one int4 chunk, two 8-bit chunks) instead of the fragment order: in step st (128 inputs, 32 for each of the 4 lanes t
// of a row quad), lane (g, t) holds inputs 128·st + 32t .. +31 of rows g and g + 8, and k-step s (0..7) takes its
// inputs 4s .. 4s+3 into A's (2t, 2t+1) and (2t+8, 2t+9) slots, the lane's activations of token g at the same inputs
// into B's. int4 codes come out of one lop3 as the bf16 pair (128 + q, 128 + q'); a step stays inside one group, so its
// sums are scaled once: acc += s · Σ (128+q)·x + (m − 128 s) · Σ x, with Σ x from a second mma against ones. int8 the
// same way with offset 2304: (128 + L) + (2048 + 16·(H ^ 8)) = q + 2304 for the signed byte q = 16·H + L − 256·[H ≥ 8].
#include "quant.cuh"

#ifndef QUANT_FORMAT
#define QUANT_FORMAT FMT_INT4
#endif
// A fragments a k-step takes from one weight row: int8 two (its low and its high nibbles), the others one.
#define PASSES (QUANT_FORMAT == FMT_INT8 ? 2 : 1)
// What the A values add to the code's value, taken back through Σ x (FP8's values are exact: none).
#define CODE_OFFSET (QUANT_FORMAT == FMT_INT4 ? 128.0f : QUANT_FORMAT == FMT_INT8 ? 2304.0f : 0.0f)

#define WARPS 8
#define MODE_BF16 0
#define MODE_F32 1
#define MODE_RESIDUAL 3
#define STEP_INPUTS 128
#define BF16_ONES 0x3f803f80u

__device__ __forceinline__ void mma_bf16_16816(float* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The A slots of k-step s (pass p) for one weight row from the lane's CPL chunks of it: (2t, 2t+1) into lo, (2t+8, 2t+9)
// into hi. int4: inputs (4s, 4s+1) and (4s+2, 4s+3) as bf16 (128 + q); FP8: (4s, 4s+2) and (4s+1, 4s+3), the E4M3
// values exactly; int8: the same inputs as FP8, pass 0 their low nibbles as 128 + L, pass 1 their high ones as
// 2048 + 16·(H ^ 8) (bf16 exponents 7 and 11: the nibble lands on the unit of the mantissa's last place).
__device__ __forceinline__ void qmma_a_slots(const uint4* chunks, int s, int p, unsigned& lo, unsigned& hi)
{
#if QUANT_FORMAT == FMT_INT4
    const unsigned word = quant_word(chunks[0], s >> 1);
    lo = int4_pair_bits(word, 2 * (s & 1));
    hi = int4_pair_bits(word, 2 * (s & 1) + 1);
#elif QUANT_FORMAT == FMT_INT8
    const unsigned word = quant_word(chunks[s >> 2], s & 3) >> (4 * p);
    const unsigned bits = p == 0 ? 0x43004300u : 0x45084508u; // (w & 0x000f000f) ^ bits: the exponent, and H's sign flip
    asm("lop3.b32 %0, %1, %2, %3, 0x6A;" : "=r"(lo) : "r"(word), "r"(0x000f000fu), "r"(bits));      // (e0, e2)
    asm("lop3.b32 %0, %1, %2, %3, 0x6A;" : "=r"(hi) : "r"(word >> 8), "r"(0x000f000fu), "r"(bits)); // (e1, e3)
#else
    // Bytes e0..e3 of the word: sign to bit 15 of its half, exponent and mantissa to bits 4..10 (bf16's low exponent
    // bits and top mantissa bits), which is the value times 2^-120 (bias 127 against E4M3's 7), subnormals included.
    const unsigned word = quant_word(chunks[s >> 2], s & 3);
    const unsigned even = ((word << 8) & 0x80008000u) | ((word << 4) & 0x07f007f0u); // (e0, e2)
    const unsigned odd = (word & 0x80008000u) | ((word >> 4) & 0x07f007f0u);         // (e1, e3)
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(lo) : "r"(even), "r"(0x7b807b80u), "r"(0u)); // times 2^120: exact
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(hi) : "r"(odd), "r"(0x7b807b80u), "r"(0u));
#endif
}

// The B fragment of k-step s from the lane's 32 activations (bf16, 4 loads): the same inputs as qmma_a_slots.
__device__ __forceinline__ void qmma_b_slots(const uint4* xv, int s, unsigned& b0, unsigned& b1)
{
    const unsigned w0 = quant_word(xv[s >> 1], 2 * (s & 1)), w1 = quant_word(xv[s >> 1], 2 * (s & 1) + 1);
#if QUANT_FORMAT == FMT_INT4
    b0 = w0; // (x[4s], x[4s+1])
    b1 = w1;
#else
    b0 = __byte_perm(w0, w1, 0x5410); // (x[4s], x[4s+2])
    b1 = __byte_perm(w0, w1, 0x7632); // (x[4s+1], x[4s+3])
#endif
}

// The scale of (row, step's group): int4's (s, m − 128 s) for codes 128 + q; int8's (s, −2304 s) for its two nibble
// fragments; FP8's one float a row (the A values are exact).
__device__ __forceinline__ QuantScale qmma_scale(const void* row_scales, int group)
{
#if QUANT_FORMAT == FMT_INT4
    return quant_scale_at<FMT_INT4>(row_scales, group);
#elif QUANT_FORMAT == FMT_INT8
    QuantScale q = quant_scale_at<FMT_INT8>(row_scales, group);
    q.m = -CODE_OFFSET * q.s;
    return q;
#else
    QuantScale q;
    q.s = *(const float*)row_scales;
    q.m = 0.0f;
    return q;
#endif
}

__device__ __forceinline__ uint4 qmma_load_weights(const uint4* p)
{
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ uint4 qmma_load_activations(const uint4* p)
{
    uint4 v;
    asm volatile("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

// The lane's chunks of step st: CPL of row g and of row g + 8 in each tile.
template <int TILES, int CPL>
__device__ __forceinline__ void qmma_load_step(uint4 (&slot)[TILES][2][CPL], const uint4* const* wlo, const uint4* const* whi, int st)
{
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int c = 0; c < CPL; ++c)
        {
            slot[i][0][c] = qmma_load_weights(wlo[i] + st * 4 * CPL + c);
            slot[i][1][c] = qmma_load_weights(whi[i] + st * 4 * CPL + c);
        }
}

template <int TILES, int NT, bool GATED>
__device__ __forceinline__ void qgemv_mma(
    const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x, void* __restrict__ y,
    int tokens, int outputs, int k, int group, int mode, int split)
{
    constexpr int OUT_PER_TILE = GATED ? 8 : 16;
    constexpr int CPL = 32 / QuantTraits<QUANT_FORMAT>::IPC; // chunks of a row a lane takes a step
    constexpr int AHEAD = 4 / (TILES * CPL) > 0 ? 4 / (TILES * CPL) : 1; // steps in flight: 4 chunks a row pair
    constexpr bool OFFSET = CODE_OFFSET != 0.0f; // int4 codes 128 + q, int8 q + 2304: the scaled sum needs Σ x
    __shared__ float partials[WARPS][TILES][NT][4][32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int slice = warp % split; // the launcher passes a power of two dividing WARPS
    const int n0 = (blockIdx.x * (WARPS / split) + warp / split) * TILES * OUT_PER_TILE;
    const bool active = n0 < outputs; // uniform over the row group; the launcher checks outputs % (TILES·OUT_PER_TILE) == 0

    if (!active) pdl_wait_and_release(); // every thread waits before any write (the active ones below)

    float acc[TILES][NT][4];
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int n = 0; n < NT; ++n) acc[i][n][0] = acc[i][n][1] = acc[i][n][2] = acc[i][n][3] = 0.0f;

    if (active)
    {
        const int steps = k / STEP_INPUTS, chunks = k / QuantTraits<QUANT_FORMAT>::IPC, groups = k / group;
        const int stepsPerGroup = group / STEP_INPUTS, groupShift = __ffs(stepsPerGroup) - 1;
        const bool shiftable = (stepsPerGroup & (stepsPerGroup - 1)) == 0;
        // The lane's rows: g and g + 8 of each tile (gated: gate row and the same output's up row).
        const uint4* wlo[TILES];
        const uint4* whi[TILES];
        const void* slo[TILES];
        const void* shi[TILES];
#pragma unroll
        for (int i = 0; i < TILES; ++i)
        {
            const int lo = n0 + i * OUT_PER_TILE + g, hi = GATED ? outputs + lo : lo + 8;
            wlo[i] = reinterpret_cast<const uint4*>(w) + (u64)lo * chunks + t * CPL;
            whi[i] = reinterpret_cast<const uint4*>(w) + (u64)hi * chunks + t * CPL;
            slo[i] = quant_row_scales<QUANT_FORMAT>(scales, lo, groups);
            shi[i] = quant_row_scales<QUANT_FORMAT>(scales, hi, groups);
        }
        // Activations of token 8n + g for n-tile n (lanes past the step's tokens feed zeros: their columns are not stored).
        bool feeds[NT];
        const uint4* xrow[NT];
#pragma unroll
        for (int n = 0; n < NT; ++n)
        {
            feeds[n] = 8 * n + g < tokens;
            xrow[n] = reinterpret_cast<const uint4*>(x + (u64)(feeds[n] ? 8 * n + g : 0) * k) + t * 4;
        }

        uint4 ring[AHEAD][TILES][2][CPL];
#pragma unroll
        for (int a = 0; a < AHEAD; ++a)
        {
            const int st = slice + a * split;
            if (st < steps) qmma_load_step<TILES, CPL>(ring[a], wlo, whi, st);
        }
        // Launched programmatically: the first steps' weights are in flight while the previous kernel finishes; the
        // activations are that kernel's output.
        pdl_wait_and_release();

        const int mine = (steps - slice + split - 1) / split; // steps of this warp
        for (int base = 0; base < mine; base += AHEAD)
        {
#pragma unroll
            for (int a = 0; a < AHEAD; ++a)
            {
                if (base + a >= mine) break; // uniform over the warp
                const int st = slice + (base + a) * split;
                uint4 cur[TILES][2][CPL];
#pragma unroll
                for (int i = 0; i < TILES; ++i)
#pragma unroll
                    for (int c = 0; c < CPL; ++c)
                    {
                        cur[i][0][c] = ring[a][i][0][c];
                        cur[i][1][c] = ring[a][i][1][c];
                    }
                const int next = st + AHEAD * split;
                if (next < steps) qmma_load_step<TILES, CPL>(ring[a], wlo, whi, next);

                const int gi = groups == 1 ? 0 : shiftable ? st >> groupShift : st / stepsPerGroup;
                QuantScale sl[TILES], sh[TILES];
#pragma unroll
                for (int i = 0; i < TILES; ++i)
                {
                    sl[i] = qmma_scale(slo[i], gi);
                    sh[i] = qmma_scale(shi[i], gi);
                }
                uint4 xv[NT][4];
#pragma unroll
                for (int n = 0; n < NT; ++n)
#pragma unroll
                    for (int j = 0; j < 4; ++j) xv[n][j] = feeds[n] ? qmma_load_activations(xrow[n] + st * 16 + j) : make_uint4(0, 0, 0, 0);

                float raw[TILES][NT][4], xsum[NT][4];
#pragma unroll
                for (int n = 0; n < NT; ++n)
                {
                    xsum[n][0] = xsum[n][1] = xsum[n][2] = xsum[n][3] = 0.0f;
#pragma unroll
                    for (int i = 0; i < TILES; ++i) raw[i][n][0] = raw[i][n][1] = raw[i][n][2] = raw[i][n][3] = 0.0f;
                }
#pragma unroll
                for (int s = 0; s < 8; ++s)
                {
#pragma unroll
                    for (int p = 0; p < PASSES; ++p)
                    {
                        unsigned a[TILES][4]; // rows g and g + 8: slots (2t, 2t+1) in [0] / [1], (2t+8, 2t+9) in [2] / [3]
#pragma unroll
                        for (int i = 0; i < TILES; ++i)
                        {
                            qmma_a_slots(cur[i][0], s, p, a[i][0], a[i][2]);
                            qmma_a_slots(cur[i][1], s, p, a[i][1], a[i][3]);
                        }
#pragma unroll
                        for (int n = 0; n < NT; ++n)
                        {
                            unsigned b0, b1;
                            qmma_b_slots(xv[n], s, b0, b1);
#pragma unroll
                            for (int i = 0; i < TILES; ++i) mma_bf16_16816(raw[i][n], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
                            if (OFFSET && p == 0) mma_bf16_16816(xsum[n], BF16_ONES, BF16_ONES, BF16_ONES, BF16_ONES, b0, b1);
                        }
                    }
                }
                // C fragment: [0], [1] = (row g, tokens 8n + 2t, +1); [2], [3] = (row g + 8, the same tokens).
#pragma unroll
                for (int i = 0; i < TILES; ++i)
#pragma unroll
                    for (int n = 0; n < NT; ++n)
                    {
                        float* c = acc[i][n];
                        c[0] = fmaf(sl[i].s, raw[i][n][0], OFFSET ? fmaf(sl[i].m, xsum[n][0], c[0]) : c[0]);
                        c[1] = fmaf(sl[i].s, raw[i][n][1], OFFSET ? fmaf(sl[i].m, xsum[n][1], c[1]) : c[1]);
                        c[2] = fmaf(sh[i].s, raw[i][n][2], OFFSET ? fmaf(sh[i].m, xsum[n][2], c[2]) : c[2]);
                        c[3] = fmaf(sh[i].s, raw[i][n][3], OFFSET ? fmaf(sh[i].m, xsum[n][3], c[3]) : c[3]);
                    }
            }
        }
    }

    if (split > 1)
    {
        if (active)
        {
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int n = 0; n < NT; ++n)
#pragma unroll
                    for (int j = 0; j < 4; ++j) partials[warp][i][n][j][lane] = acc[i][n][j];
        }
        __syncthreads();
        if (!active || slice != 0) return;
        // Slice order is fixed, so the sum does not depend on timing.
#pragma unroll
        for (int i = 0; i < TILES; ++i)
#pragma unroll
            for (int n = 0; n < NT; ++n)
#pragma unroll
                for (int j = 0; j < 4; ++j)
                {
                    float sum = 0.0f;
                    for (int q = 0; q < split; ++q) sum += partials[warp + q][i][n][j][lane];
                    acc[i][n][j] = sum;
                }
    }
    else if (!active) return;

#pragma unroll
    for (int th = 0; th < 2 * NT; ++th)
    {
        const int n = th >> 1, h = th & 1, token = 8 * n + 2 * t + h;
        if (token >= tokens) continue;
#pragma unroll
        for (int i = 0; i < TILES; ++i)
        {
            const int lo = n0 + i * OUT_PER_TILE + g;
            if (GATED)
            {
                const float gate = acc[i][n][h], up = acc[i][n][2 + h];
                ((bf16_t*)y)[(u64)token * outputs + lo] = float_to_bf16(gate / (1.0f + __expf(-gate)) * up);
            }
            else
            {
#pragma unroll
                for (int r = 0; r < 2; ++r)
                {
                    const u64 at = (u64)token * outputs + lo + 8 * r;
                    const float v = acc[i][n][2 * r + h];
                    if (mode == MODE_F32) ((float*)y)[at] = v;
                    else if (mode == MODE_RESIDUAL) ((float*)y)[at] += v;
                    else ((bf16_t*)y)[at] = float_to_bf16(v);
                }
            }
        }
    }
}

#define QGEMV_MMA_ENTRY(TILES, NT)                                                                                     \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_gemv_mma_##TILES##_##NT(                              \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        void* __restrict__ y, int tokens, int outputs, int k, int group, int mode, int split)                          \
    {                                                                                                                  \
        qgemv_mma<TILES, NT, false>(w, scales, x, y, tokens, outputs, k, group, mode, split);                           \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_gemv_mma_gated_##TILES##_##NT(                        \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        void* __restrict__ y, int tokens, int outputs, int k, int group, int mode, int split)                          \
    {                                                                                                                  \
        qgemv_mma<TILES, NT, true>(w, scales, x, y, tokens, outputs, k, group, mode, split);                            \
    }

// TILES m16 weight tiles a warp, NT n8 tiles of tokens (up to 8·NT token rows).
QGEMV_MMA_ENTRY(1, 1)
QGEMV_MMA_ENTRY(2, 1)
QGEMV_MMA_ENTRY(1, 2)
QGEMV_MMA_ENTRY(2, 2)
QGEMV_MMA_ENTRY(1, 4)
QGEMV_MMA_ENTRY(2, 4)
