// Tensor-core and shared-memory primitives the prefill attention kernels share (sm_80+): mma.sync m16n8k16 bf16 with
// fp32 accumulation, fragment packing, ldmatrix (cp.async in cp_async.cuh), and the FP8 (E4M3) → bf16 dequantization of a staged tile.
// Only included where __CUDA_ARCH__ >= 800 (the kernels' unsupported-shape stubs do not include it).
#pragma once

#include "common.cuh"
#include "fp8.cuh"
#include "cp_async.cuh"

__device__ __forceinline__ void mma_bf16(float* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi)
{
    return (unsigned)float_to_bf16(lo) | ((unsigned)float_to_bf16(hi) << 16);
}

__device__ __forceinline__ unsigned pack_raw(bf16_t lo, bf16_t hi) { return (unsigned)lo | ((unsigned)hi << 16); }

// Four 8x8 bf16 matrices; lanes 8j..8j+7 give the row addresses of matrix j, register j receives this lane's part of
// matrix j (row lane/4, columns 2(lane%4) and +1): a B fragment's b0/b1 when the rows are its n (key) index.
__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const bf16_t* p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(p)));
}

// The same, transposed: this lane receives rows 2(lane%4) and +1 of column lane/4, a B fragment when the stored rows
// are its k (key) index, as for V in P·V.
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, const bf16_t* p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_address(p)));
}

// Sixteen E4M3 values times their scale (which carries the 256 of fp8x4_to_float_div256) as sixteen bf16.
__device__ __forceinline__ void dequantize16(uint4 q, float scale, uint4* out)
{
    const unsigned w[4] = {q.x, q.y, q.z, q.w};
    unsigned packed[8];
#pragma unroll
    for (int j = 0; j < 4; j++)
    {
        float f[4];
        fp8x4_to_float_div256(w[j], f);
        packed[2 * j] = pack_bf16(f[0] * scale, f[1] * scale);
        packed[2 * j + 1] = pack_bf16(f[2] * scale, f[3] * scale);
    }
    out[0] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
    out[1] = make_uint4(packed[4], packed[5], packed[6], packed[7]);
}

// One K/V tile's online-softmax step for a warp's two query slots qa and qb (the kernels' fragment layout: s[n][0..1]
// belong to qa, keys k0 + n*8 + tig*2 + 0/1, s[n][2..3] to qb): scales the scores, masks keys at or past each slot's
// context (unless the whole tile is visible to both), updates the running maxima m and partial sums l, rescales the
// output accumulators o, and leaves the tile's unnormalized probabilities in s. KT and HEAD_DIM are the including
// kernel's.
__device__ __forceinline__ void online_softmax_tile(float (&s)[KT / 8][4], float (&o)[HEAD_DIM / 8][4], int k0, int tig, int ctx_a, int ctx_b,
                                                    bool whole, float scale, float& m_a, float& m_b, float& l_a, float& l_b)
{
    float mx_a = NEG_BIG, mx_b = NEG_BIG;
#pragma unroll
    for (int n = 0; n < KT / 8; n++)
    {
#pragma unroll
        for (int j = 0; j < 2; j++)
        {
            const int p = k0 + n * 8 + tig * 2 + j;
            s[n][j] = whole || p < ctx_a ? s[n][j] * scale : NEG_INF;
            s[n][2 + j] = whole || p < ctx_b ? s[n][2 + j] * scale : NEG_INF;
            mx_a = fmaxf(mx_a, s[n][j]);
            mx_b = fmaxf(mx_b, s[n][2 + j]);
        }
    }
    mx_a = fmaxf(mx_a, __shfl_xor_sync(0xffffffffu, mx_a, 1));
    mx_a = fmaxf(mx_a, __shfl_xor_sync(0xffffffffu, mx_a, 2));
    mx_b = fmaxf(mx_b, __shfl_xor_sync(0xffffffffu, mx_b, 1));
    mx_b = fmaxf(mx_b, __shfl_xor_sync(0xffffffffu, mx_b, 2));
    const float mn_a = fmaxf(m_a, mx_a), mn_b = fmaxf(m_b, mx_b);
    const float alpha_a = __expf(m_a - mn_a), alpha_b = __expf(m_b - mn_b);
    m_a = mn_a; m_b = mn_b;
    float sum_a = 0.0f, sum_b = 0.0f;
#pragma unroll
    for (int n = 0; n < KT / 8; n++)
    {
#pragma unroll
        for (int j = 0; j < 2; j++)
        {
            s[n][j] = s[n][j] == NEG_INF ? 0.0f : __expf(s[n][j] - mn_a);
            s[n][2 + j] = s[n][2 + j] == NEG_INF ? 0.0f : __expf(s[n][2 + j] - mn_b);
            sum_a += s[n][j];
            sum_b += s[n][2 + j];
        }
    }
    l_a = l_a * alpha_a + sum_a; // per-thread partial row sums: the quad is summed once at the end
    l_b = l_b * alpha_b + sum_b;
#pragma unroll
    for (int n = 0; n < HEAD_DIM / 8; n++) { o[n][0] *= alpha_a; o[n][1] *= alpha_a; o[n][2] *= alpha_b; o[n][3] *= alpha_b; }
}

// The end of a tile: sums each slot's partial softmax denominators over its quad, normalizes the output accumulators
// and writes the warp's two query slots qa and qb (those past the tile's nrows rows or its NQ used slots write nothing).
// GROUP, Q_DIM, HEAD_DIM and NQ are the including kernel's.
__device__ __forceinline__ void write_slots(const float (&o)[HEAD_DIM / 8][4], float l_a, float l_b, bf16_t* __restrict__ out, int r0, int kh, int qa,
                                           int qb, int tig, int nrows)
{
    l_a += __shfl_xor_sync(0xffffffffu, l_a, 1);
    l_a += __shfl_xor_sync(0xffffffffu, l_a, 2);
    l_b += __shfl_xor_sync(0xffffffffu, l_b, 1);
    l_b += __shfl_xor_sync(0xffffffffu, l_b, 2);
    const float inv_a = l_a > 0.0f ? 1.0f / l_a : 0.0f, inv_b = l_b > 0.0f ? 1.0f / l_b : 0.0f;
    const int rla = qa / GROUP, rlb = qb / GROUP;
    bf16_t* out_a = out + (u64)(r0 + rla) * Q_DIM + (kh * GROUP + qa - rla * GROUP) * HEAD_DIM + tig * 2;
    bf16_t* out_b = out + (u64)(r0 + rlb) * Q_DIM + (kh * GROUP + qb - rlb * GROUP) * HEAD_DIM + tig * 2;
    const bool write_a = qa < NQ && rla < nrows, write_b = qb < NQ && rlb < nrows;
#pragma unroll
    for (int n = 0; n < HEAD_DIM / 8; n++)
    {
        if (write_a) *reinterpret_cast<unsigned*>(out_a + n * 8) = pack_bf16(o[n][0] * inv_a, o[n][1] * inv_a);
        if (write_b) *reinterpret_cast<unsigned*>(out_b + n * 8) = pack_bf16(o[n][2] * inv_b, o[n][3] * inv_b);
    }
}

// A thread's Q fragments of its two query slots qa and qb, read once from the staged query tile sq (row stride
// STRIDE) and kept in registers for the whole key loop.
__device__ __forceinline__ void load_q_fragments(unsigned (&qf)[HEAD_DIM / 16][4], const bf16_t* sq, int qa, int qb, int tig)
{
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; kk++)
    {
        const int col = kk * 16 + tig * 2;
        qf[kk][0] = *reinterpret_cast<const unsigned*>(sq + qa * STRIDE + col);
        qf[kk][1] = *reinterpret_cast<const unsigned*>(sq + qb * STRIDE + col);
        qf[kk][2] = *reinterpret_cast<const unsigned*>(sq + qa * STRIDE + col + 8);
        qf[kk][3] = *reinterpret_cast<const unsigned*>(sq + qb * STRIDE + col + 8);
    }
}
