// The end of a paged-attention CTA, shared by attention.cu and decode_attention.cu: each of its NWARPS warps has left
// its online-softmax state (running max, denominator, unnormalised P·V per dimension) for the GROUP heads in shared
// memory; combine them and write the output row, or this partition's partial sums for attention_reduce.
// Needs NWARPS, GROUP, HEAD_DIM, NUM_HEADS, Q_DIM and NEG_BIG defined by the including kernel.
#pragma once

__device__ __forceinline__ void combine_warps_and_store(
    const float (*sm_m)[GROUP], const float (*sm_l)[GROUP], const float (*sm_acc)[GROUP][HEAD_DIM],
    int kh, int row, int part, int parts, bf16_t* __restrict__ out, float* __restrict__ part_acc, float* __restrict__ part_ml)
{
    for (int i = threadIdx.x; i < GROUP * HEAD_DIM; i += NWARPS * 32)
    {
        const int g = i / HEAD_DIM, d = i - g * HEAD_DIM;
        float mx = NEG_BIG;
#pragma unroll
        for (int w = 0; w < NWARPS; w++) mx = fmaxf(mx, sm_m[w][g]);
        float den = 0.0f, num = 0.0f;
#pragma unroll
        for (int w = 0; w < NWARPS; w++)
        {
            const float f = __expf(sm_m[w][g] - mx);
            den += sm_l[w][g] * f;
            num += sm_acc[w][g][d] * f;
        }
        const int h = kh * GROUP + g;
        if (parts == 1)
        {
            out[(u64)row * Q_DIM + h * HEAD_DIM + d] = float_to_bf16(den > 0.0f ? num / den : 0.0f);
        }
        else
        {
            const u64 slot = ((u64)row * NUM_HEADS + h) * parts + part;
            part_acc[slot * HEAD_DIM + d] = num;
            if (d == 0) { part_ml[slot * 2] = mx; part_ml[slot * 2 + 1] = den; }
        }
    }
}
