// Weight-only quantized linear layers on tensor cores for steps of a few dozen token rows (past quant_gemv.cu's 8, before
// prefill sizes, where dequantizing to bf16 for cuBLAS pays): y[n, o] = sum_k x[n, k] * w[o, k], w in quant.cuh's
// layout (QUANT_FORMAT), dequantized in registers straight into mma.sync m16n8k16 bf16 A fragments, fp32 accumulation.
//
// A CTA owns 16 output rows (one m16 tile) and up to 8 * NT tokens (NT n8 tiles); its 4 warps split the input width
// chunk by chunk (chunk c to warp c % 4) and add their partial sums through shared memory at the end. Small CTAs keep
// every SM streaming even for a 4096-row projection (256 CTAs). The A fragment needs inputs 2t, 2t+1 and 2t+8, 2t+9 of
// rows g and g+8 (g = lane / 4, t = lane % 4): in the int4 layout those pairs are exactly nibble pair t of two
// consecutive words, one mask each. Each lane loads its rows' 16-byte chunks (the four lanes of a quad share them), and
// its activation pairs as 32-bit loads (B fragments: token g of the n-tile, inputs 2t.. and 2t+8..).
#include "quant.cuh"

#ifndef QUANT_FORMAT
#define QUANT_FORMAT FMT_INT4
#endif

#define WARPS 4
#define UNROLL 4
#define IPC (QuantTraits<QUANT_FORMAT>::IPC)

__device__ __forceinline__ void qmma(float* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned qmma_pack(float lo, float hi)
{
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// Weights of inputs 16*step + 8*half + 2t and +1 of the chunk v (step < IPC / 16), dequantized and packed as bf16x2.
__device__ __forceinline__ unsigned qmma_pair(uint4 v, int step, int half, int t, QuantScale sc)
{
#if QUANT_FORMAT == FMT_INT4
    const unsigned w = ((quant_word(v, 2 * step + half) >> (4 * t)) & 0x000f000fu) | 0x43004300u;
    return qmma_pack(fmaf(__uint_as_float(w << 16), sc.s, sc.m), fmaf(__uint_as_float(w & 0xffff0000u), sc.s, sc.m));
#else
    const int b = 8 * half + 2 * t; // byte of the chunk (one k16 step per chunk)
    const unsigned w = quant_word(v, b >> 2);
#if QUANT_FORMAT == FMT_INT8
    const unsigned u = w ^ 0x80808080u;
    const float lo = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | (b & 3))) - 8388736.0f;
    const float hi = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | ((b & 3) + 1))) - 8388736.0f;
#else
    const unsigned shift = 8 * (b & 3);
    const float lo = fp8_to_float_div256((unsigned char)(w >> shift));
    const float hi = fp8_to_float_div256((unsigned char)(w >> (shift + 8)));
#endif
    return qmma_pack(lo * sc.s, hi * sc.s);
#endif
}

template <int NT>
__device__ __forceinline__ void quant_mma(
    const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x, bf16_t* __restrict__ y,
    int rows, int outputs, int k, int group)
{
    __shared__ float partial[WARPS][16][8 * NT];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int o0 = blockIdx.x * 16;
    const int n0 = blockIdx.y * 8 * NT;
    const int chunks = k / IPC, groups = k / group;
    const int r0 = min(o0 + g, outputs - 1), r1 = min(o0 + g + 8, outputs - 1); // clamped reads; stores are guarded
    const uint4* ws = reinterpret_cast<const uint4*>(w);

    // Activation rows of this lane's tokens (one per n-tile), clamped to the last row (its products are not stored).
    const unsigned* xr[NT];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) xr[nt] = reinterpret_cast<const unsigned*>(x + (u64)min(n0 + nt * 8 + g, rows - 1) * k);

    float acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;

    // Each warp takes UNROLL consecutive chunks at a time (whole 32-byte sectors of a row, and enough loads in flight).
    for (int c0 = warp * UNROLL; c0 < chunks; c0 += WARPS * UNROLL)
    {
        uint4 v0[UNROLL], v1[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
        {
            const int c = min(c0 + u, chunks - 1);
            v0[u] = __ldg(ws + (u64)r0 * chunks + c);
            v1[u] = __ldg(ws + (u64)r1 * chunks + c);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
        {
            const int c = c0 + u;
            if (c >= chunks) break;
            const int gi = (c * IPC) / group;
            const QuantScale s0 = quant_scale<QUANT_FORMAT>(scales, r0, gi, groups), s1 = quant_scale<QUANT_FORMAT>(scales, r1, gi, groups);
#pragma unroll
            for (int step = 0; step < IPC / 16; ++step)
            {
                const unsigned a0 = qmma_pair(v0[u], step, 0, t, s0), a1 = qmma_pair(v1[u], step, 0, t, s1);
                const unsigned a2 = qmma_pair(v0[u], step, 1, t, s0), a3 = qmma_pair(v1[u], step, 1, t, s1);
                const int kk = (c * IPC + 16 * step) / 2 + t; // in 32-bit words of the activation row
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) qmma(acc[nt], a0, a1, a2, a3, __ldg(xr[nt] + kk), __ldg(xr[nt] + kk + 4));
            }
        }
    }

    // C fragment: c0, c1 = (row g, tokens 2t, 2t+1), c2, c3 = (row g + 8, same tokens).
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
    {
        partial[warp][g][nt * 8 + 2 * t] = acc[nt][0];
        partial[warp][g][nt * 8 + 2 * t + 1] = acc[nt][1];
        partial[warp][g + 8][nt * 8 + 2 * t] = acc[nt][2];
        partial[warp][g + 8][nt * 8 + 2 * t + 1] = acc[nt][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < 16 * 8 * NT; i += WARPS * 32)
    {
        const int row = i & 15, n = i >> 4; // consecutive threads: consecutive output rows of one token
        const int o = o0 + row, token = n0 + n;
        if (o >= outputs || token >= rows) continue;
        const float sum = partial[0][row][n] + partial[1][row][n] + partial[2][row][n] + partial[3][row][n];
        y[(u64)token * outputs + o] = float_to_bf16(sum);
    }
}

#define QMMA_ENTRY(NT)                                                                                                 \
    extern "C" __global__ void __launch_bounds__(WARPS * 32) quant_mma_##NT(                                             \
        const unsigned char* __restrict__ w, const void* __restrict__ scales, const bf16_t* __restrict__ x,             \
        bf16_t* __restrict__ y, int rows, int outputs, int k, int group)                                               \
    {                                                                                                                  \
        quant_mma<NT>(w, scales, x, y, rows, outputs, k, group);                                                       \
    }

QMMA_ENTRY(1)
QMMA_ENTRY(2)
QMMA_ENTRY(4)
QMMA_ENTRY(8)
