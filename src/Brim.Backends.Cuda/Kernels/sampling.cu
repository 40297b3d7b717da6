// Sampling on the device, one CTA (SAMPLE_THREADS threads) per logit row, so only token ids cross to the host.
// Greedy (temperature <= 0): the lowest index of the largest logit. Otherwise, with e_i = exp((x_i - max) / T):
// min-p keeps e_i >= min_p (relative to the most likely token), top-k keeps the k largest, top-p then keeps the
// smallest set of largest e_i holding top_p of the remaining mass; the token is the first index, in vocabulary order,
// where the running kept mass exceeds uniform * kept mass.
// Two kernels find the top-k and top-p thresholds: sample_rows by bisection over e in (0, 1] (30 passes over the row
// for each filter, an exp per entry each), sample_rows_radix by radix selection over the logits' order-preserving bit
// patterns (three passes of 11, 11 and 10 bits for each filter: a histogram of counts for top-k, of masses in 2^-40
// fixed point for top-p, so the sums are exact and the choice does not depend on the order threads add in; an exp
// only where an entry is still a candidate). Both keep every entry tied with the threshold.
// Logprobs (a row's top_logprobs >= 0): log softmax of the raw logits (before temperature, as OpenAI and vLLM report
// them) at the chosen token, and the n best tokens by descending logit, ties to the lower id (the host sampler's
// order), found by n block-wide argmax passes each excluding what the previous ones returned.
#include "common.cuh"

#define SAMPLE_THREADS 1024
#define BISECT_STEPS 30
#define MAX_TOP_LOGPROBS 20
#define RADIX_BINS 2048
#define MASS_ONE 1099511627776.0f // 2^40: e in (0, 1] as fixed point; 128k entries sum below 2^57

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

// Order-preserving bits of a float: a > b as floats exactly when order_key(a) > order_key(b) (NaN aside).
__device__ __forceinline__ unsigned order_key(float v)
{
    const unsigned b = __float_as_uint(v);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The sampled token among the kept entries (e >= tau and order_key(x) >= key_floor): the first index, in vocabulary
// order, where the running kept mass exceeds uniform * kept mass; argmax when nothing is kept. Contiguous chunk per
// thread, exclusive scan of the chunk masses, the owning thread walks its chunk.
__device__ int pick_token(const float* __restrict__ x, int vocab, float mx, float inv_t, float tau, unsigned key_floor,
                          float uniform, int argmax, float* sv, int* chosen_slot)
{
    int& chosen = *chosen_slot;
    const int chunk = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int begin = min(vocab, threadIdx.x * chunk), stop = min(vocab, begin + chunk);
    float own = 0.0f;
    for (int i = begin; i < stop; i++)
    {
        const float e = __expf((x[i] - mx) * inv_t);
        if (e >= tau && order_key(x[i]) >= key_floor) own += e;
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
            if (!(e >= tau && order_key(x[i]) >= key_floor)) continue;
            last = i;
            run += e;
            if (run > target) { pick = i; break; }
        }
        atomicMin(&chosen, pick >= 0 ? pick : last);
    }
    __syncthreads();
    return chosen != 0x7fffffff ? chosen : argmax;
}

__device__ __forceinline__ u64 block_sum_u64(u64 v, u64* scratch /* >= 32 */)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (SAMPLE_THREADS >> 5) ? scratch[lane] : 0ull;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// An entry's weight as a candidate: not NaN, key >= key_floor, e >= tau; then 1 (counting) or e in fixed point (MASS).
template <bool MASS>
__device__ __forceinline__ u64 candidate_weight(float v, unsigned key, float mx, float inv_t, float tau, unsigned key_floor)
{
    if (!(v == v) || key < key_floor) return 0ull;
    const float e = (MASS || tau > 0.0f) ? __expf((v - mx) * inv_t) : 1.0f;
    if (!(e >= tau)) return 0ull;
    return MASS ? (u64)(e * MASS_ONE) : 1ull;
}

// The largest key v such that the candidates (candidate_weight > 0) with key >= v weigh at least target (>= 1): the
// k-th largest key when counting, the top-p boundary with MASS. key_floor when all candidates together weigh less.
// Three passes over the row, each fixing one digit of v (11, 11, then 10 bits) from a histogram of the candidates that
// match the digits fixed so far; one warp finds the bin where the weight from the top reaches target.
template <bool MASS>
__device__ unsigned radix_select(const float* __restrict__ x, int vocab, float mx, float inv_t, float tau, unsigned key_floor,
                                 u64 target, u64* hist /* RADIX_BINS */, u64* found /* 3 */)
{
    unsigned prefix = 0, mask = 0;
    u64 above = 0; // weight of the candidates above every key that still matches the prefix
    for (int pass = 0; pass < 3; pass++)
    {
        const int shift = pass == 0 ? 21 : pass == 1 ? 10 : 0;
        const unsigned digits = pass == 2 ? 1023u : 2047u;
        const int bins = (int)digits + 1;
        for (int i = threadIdx.x; i < bins; i += SAMPLE_THREADS) hist[i] = 0ull;
        __syncthreads();
        for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
        {
            const float v = x[i];
            const unsigned key = order_key(v);
            if ((key & mask) != prefix) continue;
            const u64 w = candidate_weight<MASS>(v, key, mx, inv_t, tau, key_floor);
            if (w != 0ull) atomicAdd(&hist[(key >> shift) & digits], w);
        }
        __syncthreads();
        if (threadIdx.x < 32)
        {
            // Lane l holds bins [hi - per, hi), hi = bins - per * l: lane 0 the highest digits.
            const int lane = threadIdx.x, per = bins / 32, hi = bins - (per * lane);
            u64 own = 0ull;
            for (int b = hi - 1; b >= hi - per; b--) own += hist[b];
            u64 incl = own;
            for (int o = 1; o < 32; o <<= 1)
            {
                const u64 n = __shfl_up_sync(0xffffffffu, incl, o);
                if (lane >= o) incl += n;
            }
            const u64 before = above + incl - own;
            const unsigned crossing = __ballot_sync(0xffffffffu, before < target && before + own >= target);
            if (crossing == 0u)
            {
                if (lane == 0) found[2] = 0ull;
            }
            else if (lane == __ffs(crossing) - 1)
            {
                u64 run = before;
                int b = hi - 1;
                for (; b > hi - per && run + hist[b] < target; b--) run += hist[b];
                found[0] = (u64)b;
                found[1] = run;
                found[2] = 1ull;
            }
        }
        __syncthreads();
        if (found[2] == 0ull) return key_floor; // every candidate is kept
        prefix |= (unsigned)found[0] << shift;
        mask |= digits << shift;
        above = found[1];
        __syncthreads(); // everyone has read found before the next pass writes it
    }
    return prefix;
}

// The radix kernel's filters: the key every kept entry reaches (beside e >= tau, min-p's).
__device__ unsigned radix_filters(const float* __restrict__ x, int vocab, float mx, float inv_t, float tau, int top_k, float top_p)
{
    __shared__ u64 hist[RADIX_BINS];
    __shared__ u64 found[3];
    __shared__ u64 scratch[32];
    unsigned key_floor = 0u;
    if (top_k > 0 && top_k < vocab)
    {
        key_floor = radix_select<false>(x, vocab, mx, inv_t, tau, 0u, (u64)top_k, hist, found);
    }
    if (top_p > 0.0f && top_p < 1.0f)
    {
        u64 mass = 0ull;
        for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS)
        {
            const float v = x[i];
            mass += candidate_weight<true>(v, order_key(v), mx, inv_t, tau, key_floor);
        }
        const u64 total = block_sum_u64(mass, scratch);
        const u64 target = max(1ull, (u64)ceil((double)top_p * (double)total));
        key_floor = radix_select<true>(x, vocab, mx, inv_t, tau, key_floor, target, hist, found);
    }
    return key_floor;
}

// params: per row [temperature, top_k, top_p, min_p, uniform, top_logprobs]. top_k <= 0 or >= vocab, top_p >= 1 and
// min_p <= 0 disable their filter; top_logprobs < 0 asks for no logprobs (then logprobs/logprob_ids are not touched).
// logprobs: per row 1 + MAX_TOP_LOGPROBS floats; logprob_ids: per row MAX_TOP_LOGPROBS ints.
template <bool RADIX>
__device__ __forceinline__ void sample_row(const float* __restrict__ logits, int vocab, const float* __restrict__ params,
                                           int* __restrict__ tokens, float* __restrict__ logprobs, int* __restrict__ logprob_ids)
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
    if (RADIX)
    {
        const unsigned key_floor = radix_filters(x, vocab, mx, inv_t, tau, top_k, top_p);
        const int token = pick_token(x, vocab, mx, inv_t, tau, key_floor, uniform, argmax, sv, &chosen);
        if (threadIdx.x == 0) tokens[row] = token;
        if (top_n >= 0) write_logprobs(x, vocab, mx, token, top_n, out_lp, out_ids, scratch, sv, si);
        return;
    }

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

    const int token = pick_token(x, vocab, mx, inv_t, tau, 0u, uniform, argmax, sv, &chosen);
    if (threadIdx.x == 0) tokens[row] = token;
    if (top_n >= 0) write_logprobs(x, vocab, mx, token, top_n, out_lp, out_ids, scratch, sv, si);
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS, 1) sample_rows(const float* __restrict__ logits, int vocab,
                                                                         const float* __restrict__ params, int* __restrict__ tokens,
                                                                         float* __restrict__ logprobs, int* __restrict__ logprob_ids)
{
    sample_row<false>(logits, vocab, params, tokens, logprobs, logprob_ids);
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS, 1) sample_rows_radix(const float* __restrict__ logits, int vocab,
                                                                               const float* __restrict__ params, int* __restrict__ tokens,
                                                                               float* __restrict__ logprobs, int* __restrict__ logprob_ids)
{
    sample_row<true>(logits, vocab, params, tokens, logprobs, logprob_ids);
}
