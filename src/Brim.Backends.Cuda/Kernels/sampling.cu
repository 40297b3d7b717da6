// Sampling on the device, one CTA (SAMPLE_THREADS threads) per logit row, so only token ids cross to the host.
// Greedy (temperature <= 0): the lowest index of the largest logit. Otherwise, with e_i = exp((x_i - max) / T):
// min-p keeps e_i >= min_p (relative to the most likely token), top-k keeps the k largest, top-p then keeps the
// smallest set of largest e_i holding top_p of the remaining mass (thresholds found by bisection over (0, 1]);
// the token is the first index, in vocabulary order, where the running kept mass exceeds uniform * kept mass.
// Logprobs (a row's top_logprobs >= 0): log softmax of the raw logits (before temperature, as OpenAI and vLLM report
// them) at the chosen token, and the n best tokens by descending logit, ties to the lower id (the host sampler's
// order), found by n block-wide argmax passes each excluding what the previous ones returned.
#include "common.cuh"

#define SAMPLE_THREADS 1024
#define BISECT_STEPS 30
#define MAX_TOP_LOGPROBS 20

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

// The row's log-normalizer and, for the chosen token and the top_n best, their logprobs: out_lp[0] = chosen,
// out_lp[1 + i] / out_ids[i] = the i-th best. mx is the row's largest logit.
__device__ __forceinline__ void write_logprobs(const float* __restrict__ x, int vocab, float mx, int token, int top_n,
                               float* __restrict__ out_lp, int* __restrict__ out_ids, float* scratch, float* sv, int* si)
{
    float s = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
    {
        const float v = x[i];
        if (v == v) s += expf(v - mx);
    }
    const float log_z = mx + logf(block_sum(s, scratch));
    if (threadIdx.x == 0) out_lp[0] = x[token] - log_z;
    ArgMax prev; prev.v = __int_as_float(0x7f800000); prev.i = -1;
    for (int n = 0; n < top_n; n++)
    {
        ArgMax best; best.v = -3.402823466e38f; best.i = 0x7fffffff;
        for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
        {
            ArgMax c; c.v = x[i]; c.i = i;
            // Strictly after prev in the order (larger logit first, then lower id); NaN never ranks.
            if (c.v == c.v && (c.v < prev.v || (c.v == prev.v && c.i > prev.i))) best = better(best, c);
        }
        best = block_argmax(best, sv, si);
        if (threadIdx.x == 0)
        {
            out_ids[n] = best.i < vocab ? best.i : 0;
            out_lp[1 + n] = best.i < vocab ? best.v - log_z : -3.402823466e38f;
        }
        prev = best;
    }
}

// params: per row [temperature, top_k, top_p, min_p, uniform, top_logprobs]. top_k <= 0 or >= vocab, top_p >= 1 and
// min_p <= 0 disable their filter; top_logprobs < 0 asks for no logprobs (then logprobs/logprob_ids are not touched).
// logprobs: per row 1 + MAX_TOP_LOGPROBS floats; logprob_ids: per row MAX_TOP_LOGPROBS ints.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS, 1) sample_rows(const float* __restrict__ logits, int vocab,
                                                                         const float* __restrict__ params, int* __restrict__ tokens,
                                                                         float* __restrict__ logprobs, int* __restrict__ logprob_ids)
{
    __shared__ float scratch[32];
    __shared__ float sv[32];
    __shared__ int si[32];
    __shared__ int chosen;
    pdl_wait_and_release(); // launched programmatically (common.cuh)
    const int row = blockIdx.x;
    const float* x = logits + (u64)row * vocab;
    const float* p = params + row * 6; // SamplingKernel.ParamsPerRow
    const int top_n = min((int)p[5], MAX_TOP_LOGPROBS);
    float* out_lp = logprobs + (u64)row * (1 + MAX_TOP_LOGPROBS);
    int* out_ids = logprob_ids + (u64)row * MAX_TOP_LOGPROBS;

    ArgMax best; best.v = -3.402823466e38f; best.i = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
    {
        ArgMax c; c.v = x[i]; c.i = i;
        if (c.v == c.v) best = better(best, c); // NaN never wins
    }
    best = block_argmax(best, sv, si);
    const int argmax = best.i < vocab ? best.i : 0;
    const float temperature = p[0];
    if (temperature <= 0.0f)
    {
        if (threadIdx.x == 0) tokens[row] = argmax;
        if (top_n >= 0) write_logprobs(x, vocab, best.v, argmax, top_n, out_lp, out_ids, scratch, sv, si);
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
    const int token = chosen != 0x7fffffff ? chosen : argmax;
    if (threadIdx.x == 0) tokens[row] = token;
    if (top_n >= 0) write_logprobs(x, vocab, mx, token, top_n, out_lp, out_ids, scratch, sv, si);
}
