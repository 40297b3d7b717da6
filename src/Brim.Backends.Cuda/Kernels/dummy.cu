// Dummy weights generated on the device, bit-identical to the host generator (see dummy_spec): element i of the
// tensor whose FNV-1a name hash is name_hash. The arithmetic uses explicit _rn intrinsics so the compiler cannot
// contract it into FMAs, which would round differently from the host.
#include "common.cuh"

#define DUMMY_NORM 0    // 1 + 0.1 r      (1-D, name ends with "norm.weight")
#define DUMMY_BIAS 1    // 0.02 r         (other 1-D)
#define DUMMY_MATRIX 2  // r / sqrt(cols) (2-D)

// stored_f16: the config's dtype is F16, so values are rounded to half first (as a stored checkpoint would be),
// then widened to bf16 like any F16 weight.
extern "C" __global__ void dummy_fill(bf16_t* __restrict__ dst, u64 n, u64 seed, u64 name_hash, int kind,
                                      float sqrt_cols, int stored_f16)
{
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
    {
        u64 z = seed ^ name_hash ^ (i * 0x9E3779B97F4A7C15ull);
        z += 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float u = __fmul_rn((float)(z >> 40), 5.9604644775390625e-8f); // 2^-24
        const float r = __fsub_rn(__fmul_rn(2.0f, u), 1.0f);
        float v;
        if (kind == DUMMY_NORM) v = __fadd_rn(1.0f, __fmul_rn(0.1f, r));
        else if (kind == DUMMY_BIAS) v = __fmul_rn(0.02f, r);
        else v = __fdiv_rn(r, sqrt_cols);
        if (stored_f16) v = half_bits_to_float(float_to_half_bits(v));
        dst[i] = float_to_bf16(v);
    }
}
