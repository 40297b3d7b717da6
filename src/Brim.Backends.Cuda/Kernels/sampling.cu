// Sampling on the device, one CTA (SAMPLE_THREADS threads) per logit row, so only token ids cross to the host.
// Greedy (temperature <= 0): the lowest index of the largest logit. Otherwise, with e_i = exp((x_i - max) / T):
// min-p keeps e_i >= min_p (relative to the most likely token), top-k keeps the k largest, top-p then keeps the
// smallest set of largest e_i holding top_p of the remaining mass (thresholds found by bisection over (0, 1]);
// the token is the first index, in vocabulary order, where the running kept mass exceeds uniform * kept mass.
#include "common.cuh"

#define SAMPLE_THREADS 1024
#define BISECT_STEPS 30

struct ArgMax { float v; int i; };

__device__ __forceinline__ ArgMax better(ArgMax a, ArgMax b)
{
    return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
}

__device__ ArgMax block_argmax(ArgMax a, float* sv, int* si)
{
    for (int o = 16; o > 0; o >>= 1)
    {
        ArgMax b;
        b.v = __shfl_xor_sync(0xffffffffu, a.v, o);
        b.i = __shfl_xor_sync(0xffffffffu, a.i, o);
        a = better(a, b);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) { sv[warp] = a.v; si[warp] = a.i; }
    __syncthreads();
    if (lane < (SAMPLE_THREADS >> 5)) { a.v = sv[lane]; a.i = si[lane]; }
    else { a.v = -3.402823466e38f; a.i = 0x7fffffff; }
    for (int o = 16; o > 0; o >>= 1)
    {
        ArgMax b;
        b.v = __shfl_xor_sync(0xffffffffu, a.v, o);
        b.i = __shfl_xor_sync(0xffffffffu, a.i, o);
        a = better(a, b);
    }
    return a;
}

// Kept mass (or count) of entries with e >= t.
__device__ float mass_at_least(const float* __restrict__ x, int vocab, float mx, float inv_t, float t, bool count, float* scratch)
{
    float s = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
    {
        const float e = __expf((x[i] - mx) * inv_t);
        if (e >= t) s += count ? 1.0f : e;
    }
    return block_sum(s, scratch);
}

// params: per row [temperature, top_k, top_p, min_p, uniform]. top_k <= 0 or >= vocab, top_p >= 1 and min_p <= 0
// disable their filter.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS) sample_rows(const float* __restrict__ logits, int vocab,
                                                                         const float* __restrict__ params, int* __restrict__ tokens)
{
    __shared__ float scratch[32];
    __shared__ float sv[32];
    __shared__ int si[32];
    __shared__ int chosen;
    const int row = blockIdx.x;
    const float* x = logits + (u64)row * vocab;
    const float* p = params + row * 5;

    ArgMax best; best.v = -3.402823466e38f; best.i = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
    {
        ArgMax c; c.v = x[i]; c.i = i;
        if (c.v == c.v) best = better(best, c); // NaN never wins
    }
    best = block_argmax(best, sv, si);
    const float temperature = p[0];
    if (temperature <= 0.0f)
    {
        if (threadIdx.x == 0) tokens[row] = best.i < vocab ? best.i : 0;
        return;
    }

    const float mx = best.v, inv_t = 1.0f / temperature;
    const int top_k = (int)p[1];
    const float top_p = p[2], min_p = p[3], uniform = p[4];

    float tau = min_p > 0.0f ? min_p : 0.0f;
    if (top_k > 0 && top_k < vocab)
    {
        float lo = tau, hi = 1.0f; // count(e >= lo) >= k holds (e_max = 1); find the largest such threshold
        for (int it = 0; it < BISECT_STEPS; it++)
        {
            const float mid = 0.5f * (lo + hi);
            if (mass_at_least(x, vocab, mx, inv_t, mid, true, scratch) >= (float)top_k) lo = mid; else hi = mid;
        }
        tau = fmaxf(tau, lo);
    }
    if (top_p > 0.0f && top_p < 1.0f)
    {
        const float target = top_p * mass_at_least(x, vocab, mx, inv_t, tau, false, scratch);
        float lo = tau, hi = 1.0f;
        for (int it = 0; it < BISECT_STEPS; it++)
        {
            const float mid = 0.5f * (lo + hi);
            if (mass_at_least(x, vocab, mx, inv_t, mid, false, scratch) >= target) lo = mid; else hi = mid;
        }
        tau = lo;
    }

    // Contiguous chunk per thread, exclusive scan of the chunk masses, the owning thread walks its chunk.
    const int chunk = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int begin = min(vocab, threadIdx.x * chunk), stop = min(vocab, begin + chunk);
    float own = 0.0f;
    for (int i = begin; i < stop; i++)
    {
        const float e = __expf((x[i] - mx) * inv_t);
        if (e >= tau) own += e;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float incl = own;
    for (int o = 1; o < 32; o <<= 1)
    {
        const float n = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += n;
    }
    __syncthreads();
    if (lane == 31) sv[warp] = incl;
    if (threadIdx.x == 0) chosen = 0x7fffffff;
    __syncthreads();
    if (warp == 0)
    {
        float w = sv[lane];
        for (int o = 1; o < 32; o <<= 1)
        {
            const float n = __shfl_up_sync(0xffffffffu, w, o);
            if (lane >= o) w += n;
        }
        sv[lane] = w; // inclusive prefix of warp totals
    }
    __syncthreads();
    const float total = sv[31];
    const float before = (warp > 0 ? sv[warp - 1] : 0.0f) + incl - own;
    const float target = uniform * total;
    if (own > 0.0f && target >= before && target < before + own)
    {
        float run = before;
        int pick = -1, last = -1;
        for (int i = begin; i < stop; i++)
        {
            const float e = __expf((x[i] - mx) * inv_t);
            if (e < tau) continue;
            last = i;
            run += e;
            if (run > target) { pick = i; break; }
        }
        atomicMin(&chosen, pick >= 0 ? pick : last);
    }
    __syncthreads();
    if (threadIdx.x == 0) tokens[row] = chosen != 0x7fffffff ? chosen : (best.i < vocab ? best.i : 0);
}
