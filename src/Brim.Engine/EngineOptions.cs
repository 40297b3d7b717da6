namespace Brim.Engine;

/// <summary>How batches are formed.</summary>
public enum BatchingMode
{
    /// <summary>Iteration-level (continuous) batching: finished sequences leave and waiting ones join at every step.</summary>
    Continuous,

    /// <summary>
    /// Static batching, the baseline: a batch is admitted only when the previous one has fully finished, so it runs until
    /// its longest member ends while the slots of finished members sit idle.
    /// </summary>
    Static,
}

/// <summary>Limits of the engine. Defaults suit the bundled model on a CPU.</summary>
public sealed record EngineOptions
{
    public BatchingMode BatchingMode { get; init; } = BatchingMode.Continuous;

    /// <summary>Positions per KV block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>KV blocks in the cache; null sizes the cache from the backend's free memory.</summary>
    public int? NumKvBlocks { get; init; }

    /// <summary>Fraction of the backend's memory the KV cache may take when <see cref="NumKvBlocks"/> is null.</summary>
    public double MemoryUtilization { get; init; } = 0.9;

    /// <summary>Most sequences in one batch (the batch slots).</summary>
    public int MaxRunningSequences { get; init; } = 64;

    /// <summary>Most tokens in one forward step (decode tokens plus prefill chunks): the per-step token budget.</summary>
    public int MaxBatchTokens { get; init; } = 2048;

    /// <summary>Longest sequence (prompt + output); null uses the model's context length.</summary>
    public int? MaxModelLength { get; init; }

    /// <summary>Fraction of KV blocks kept free when admitting new sequences (reduces preemption churn).</summary>
    public double KvWatermark { get; init; } = 0.01;

    /// <summary>Most requests waiting for a slot; submissions beyond it are refused (the server answers 429).</summary>
    public int MaxWaitingRequests { get; init; } = 4096;

    /// <summary>
    /// Share of batch slots offline work keeps whenever it has work, even at online peaks (0 disables the reserve).
    /// </summary>
    public double OfflineReservedShare { get; init; } = 0.1;

    /// <summary>
    /// How long an online request may wait for a slot held by offline work before an offline sequence (above the
    /// reserve) is preempted to make room. Zero preempts at once.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Batch slots offline backfill never takes, so an arriving online request finds a free slot at the next step instead
    /// of waiting out the window and preempting offline work (0: offline may fill every slot).
    /// </summary>
    public int OnlineHeadroomSlots { get; init; }

    /// <summary>
    /// Online time-per-output-token target: offline work may not push the predicted time of a step that carries online
    /// decode rows above it (<see cref="Scheduling.OfflineTokenCap"/>), and offline admission backs off as the recent TPOT
    /// nears it. Null (auto): with a step-time budget, the per-step budget is learned from the online work's own TPOT
    /// (<see cref="Scheduling.TpotBudget"/>: its p99 kept within 1.1 × alone, after a warm-up of 32 finished online
    /// requests during which steps are held to 1.05 × the online work's own predicted step).
    /// </summary>
    public TimeSpan? OnlineTpotSlo { get; init; }

    /// <summary>
    /// Without <see cref="OnlineTpotSlo"/>, learn the TPOT budget (true), or hold steps with online decode rows to 1.05 ×
    /// the online work's own step for good (false: the earlier policy, kept to measure against).
    /// </summary>
    public bool LearnOnlineTpot { get; init; } = true;

    /// <summary>
    /// Online time-to-first-token target; offline admission backs off while an online request waits past half of it, and
    /// unless <see cref="StepTimeBudget"/> is set, half of it is the step-time budget of the offline token cap.
    /// </summary>
    public TimeSpan? OnlineTtftSlo { get; init; }

    /// <summary>
    /// Host memory for swapping preempted sequences' KV blocks out instead of recomputing them; null takes the backend's
    /// default (<see cref="Brim.Core.Execution.IKvSwapSpace.DefaultBytes"/>: 4 GiB of pinned memory on CUDA, like vLLM's
    /// swap_space; none on the CPU, where it would be the same RAM the KV cache could have used), 0 always recomputes.
    /// Each victim is swapped only while swap blocks are free and the copy is cheaper than recomputing (see
    /// <see cref="Scheduling.PreemptionPolicy"/>).
    /// </summary>
    public long? SwapSpaceBytes { get; init; }

    /// The longest a step should take because of offline work: offline tokens per step are capped so that the step time
    /// predicted from the engine's own steps stays within it (the reserved share is kept regardless, and where step time
    /// barely depends on the tokens the cap never binds). Null: half of <see cref="OnlineTtftSlo"/>, or no cap.
    /// </summary>
    public TimeSpan? StepTimeBudget { get; init; }

    /// <summary>The step-time budget in force: <see cref="StepTimeBudget"/>, else half the TTFT target (an online request waits out one step, then runs its own).</summary>
    public TimeSpan? EffectiveStepTimeBudget => StepTimeBudget ?? OnlineTtftSlo / 2;

    /// <summary>
    /// Reuse the K/V of full prompt blocks another request already computed (vLLM's enable_prefix_caching, on by default):
    /// a shared system prompt, few-shot examples or a chat's history is computed once. Off computes every prompt whole.
    /// </summary>
    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>What besides the tokens decides a block's K/V (the model and weights served): the root of every block hash.</summary>
    public string PrefixCacheKey { get; init; } = string.Empty;

    /// <summary>Which cached block gives way first when memory is needed (default: offline-only blocks first).</summary>
    public PrefixCache.PrefixEviction PrefixEviction { get; init; } = PrefixCache.PrefixEviction.OfflineFirst;

    /// <summary>
    /// Speculative decoding (vLLM's <c>--speculative-config</c>): a proposer's draft tokens verified inside the normal
    /// step, each decoding sequence's draft length chosen per step by <see cref="Speculative.SpeculationPolicy"/>. Null: off.
    /// </summary>
    public Speculative.SpeculativeConfig? Speculative { get; init; }

    /// <summary>Run the KV integrity check after every step (always on in debug builds and tests).</summary>
    public bool CheckIntegrityEachStep { get; init; }

    /// <summary>
    /// Rows × vocabulary of a step's host-sampled rows from which they are sampled on several cores at once
    /// (<see cref="Sampling.HostRowSampling"/>); tests lower it to run that path on a small vocabulary.
    /// </summary>
    internal long HostSamplingParallelWork { get; init; } = Sampling.HostRowSampling.DefaultMinParallelWork;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRunningSequences, 1, nameof(MaxRunningSequences));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchTokens, 1, nameof(MaxBatchTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxWaitingRequests, 1, nameof(MaxWaitingRequests));
        if (NumKvBlocks is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(NumKvBlocks), "at least one KV block is needed");
        }

        if (OnlineHeadroomSlots < 0 || OnlineHeadroomSlots >= MaxRunningSequences)
        {
            throw new ArgumentOutOfRangeException(nameof(OnlineHeadroomSlots), "must be between 0 and max running sequences - 1");
        }

        if (OfflineReservedShare is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(OfflineReservedShare), "must be in [0, 1]");
        }

        if (BatchWindow < TimeSpan.Zero || BatchWindow > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(BatchWindow), "must be between 0 and 1 s");
        }

        if (SwapSpaceBytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SwapSpaceBytes), "must be 0 or more");
        }

        if (StepTimeBudget is { } budget && budget <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StepTimeBudget), "must be positive");
        }

        if (OnlineTtftSlo is { } ttft && ttft <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(OnlineTtftSlo), "must be positive");
        }

        if (MemoryUtilization is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MemoryUtilization), "must be in (0, 1]");
        }

        Speculative?.Validate();
    }
}
