using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.KvCache;
using Brim.Engine.Output;
using Brim.Engine.Sampling;
using Brim.Engine.Scheduling;
using Brim.Engine.Speculative;
using Brim.Engine.Stepping;
using Brim.Tokenization;

namespace Brim.Engine;

/// <summary>
/// Turns many requests into batched forward passes. Submissions and cancellations are thread-safe and land in an inbox;
/// the step loop (a dedicated thread after <see cref="Start"/>, or the caller's thread through <see cref="Step"/>) drains
/// the inbox, asks the scheduler for this step's chunks, runs the backend once, samples, and reports each sequence's
/// progress to its observer. Observers run on the step thread and must not block. The step's parts live in
/// <c>Stepping/</c>: <see cref="StepBatchBuilder"/> lays the schedule out as a forward batch, <see cref="TokenAcceptor"/>
/// turns the backend's output into tokens, updates and finished sequences, <see cref="LiveRequests"/> holds the
/// requests and sends each one's final update, <see cref="StepRecorder"/> writes the step's record. With speculative
/// decoding configured, <see cref="SpeculativeDecoding"/> proposes drafts before the schedule and verifies them in the
/// acceptor (<c>Speculative/</c>).
/// </summary>
public sealed class LlmEngine : IDisposable
{
    private readonly IModelBackend _backend;
    private readonly ITokenizer _tokenizer;
    private readonly Scheduler _scheduler;
    private readonly BlockManager _blocks;
    private readonly SwapCopier? _swapCopier;
    private readonly PreemptionPolicy? _preemption;
    private readonly StepBatchBuilder _batchBuilder;
    private readonly ForwardOutput _output;
    private readonly ConcurrentQueue<InboxItem> _inbox = new();
    private readonly LiveRequests _live;
    private readonly TokenAcceptor _acceptor;
    private readonly StepRecorder _recorder;
    private readonly SpeculativeDecoding? _speculation;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly bool _checkIntegrity;
    private long _arrivals;
    private int _queued;
    private long _step;
    private Thread? _loop;
    private volatile bool _stopping;

    /// <param name="proposer">
    /// The speculative proposer when <see cref="EngineOptions.Speculative"/> needs one built outside the engine (a draft
    /// model's backend); null builds the configured one (prompt lookup).
    /// </param>
    public LlmEngine(IModelBackend backend, ITokenizer tokenizer, EngineOptions options, int modelMaxPositions, IProposer? proposer = null)
    {
        options.Validate();
        _backend = backend;
        _tokenizer = tokenizer;
        Options = options;
        MaxModelLength = Math.Min(options.MaxModelLength ?? modelMaxPositions, modelMaxPositions);

        // Swap space first: where it shares memory with the KV cache (the CPU), the cache is then sized from what is left.
        var swapBlocks = SwapCopier.SwapBlocks(backend, options);
        if (swapBlocks > 0)
        {
            var space = backend.SwapSpace!;
            space.Allocate(swapBlocks, options.BlockSize);
            _swapCopier = new SwapCopier(space);
            _preemption = new PreemptionPolicy(
                new BlockManager(swapBlocks, options.BlockSize, watermarkFraction: 0),
                backend.KvBytesPerBlock(options.BlockSize),
                space.CopyBytesPerSecond);
        }

        var numBlocks = options.NumKvBlocks
            ?? (int)Math.Min(int.MaxValue, backend.AvailableKvCacheBytes(options.MemoryUtilization) / backend.KvBytesPerBlock(options.BlockSize));
        if (numBlocks < 1)
        {
            throw new InvalidOperationException($"no memory left for the KV cache on {backend.DeviceName}");
        }

        backend.AllocateKvCache(numBlocks, options.BlockSize);
        _blocks = new BlockManager(
            numBlocks, options.BlockSize, options.KvWatermark,
            options.EnablePrefixCaching ? options.PrefixCacheKey : null, options.PrefixEviction);
        _scheduler = new Scheduler(options, _blocks, preemption: _preemption);
        _batchBuilder = new StepBatchBuilder(options.BlockSize, backend.SupportsDeviceSampling);
        _output = new ForwardOutput(backend.VocabSize);
        _live = new LiveRequests(_scheduler, () => Interlocked.Decrement(ref _queued));
        var sampler = new Sampler();
        if (options.Speculative is { } speculative)
        {
            _speculation = new SpeculativeDecoding(
                speculative, proposer ?? speculative.CreateProposer(), _scheduler, sampler, options.MaxBatchTokens, MaxModelLength);
        }

        _acceptor = new TokenAcceptor(_scheduler, _live, tokenizer.EosTokenIds, MaxModelLength, sampler, _speculation, options.HostSamplingParallelWork);
        _recorder = new StepRecorder(_scheduler, _blocks, options.MaxRunningSequences);
#if DEBUG
        _checkIntegrity = true;
#else
        _checkIntegrity = options.CheckIntegrityEachStep;
#endif
    }

    public EngineOptions Options { get; }

    public int MaxModelLength { get; }

    public ITokenizer Tokenizer => _tokenizer;

    public string DeviceName => _backend.DeviceName;

    public int TotalKvBlocks => _blocks.TotalBlocks;

    /// <summary>Host swap blocks (0 when preemption always recomputes).</summary>
    public int TotalSwapBlocks => _preemption?.HostBlocks.TotalBlocks ?? 0;

    /// <summary>Host swap blocks holding swapped sequences' K/V (0 once every request has finished).</summary>
    public int UsedSwapBlocks => _preemption?.HostBlocks.UsedBlocks ?? 0;

    /// <summary>Speculative decoding's counters; null when it is not configured.</summary>
    public SpeculationMetrics? Speculation => _speculation?.Metrics;

    /// <summary>Raised on the step thread after every step that ran the model.</summary>
    public event Action<StepRecord>? StepCompleted;

    public long Steps => Interlocked.Read(ref _step);

    /// <summary>Snapshot for metrics; read from any thread (values may be one step old).</summary>
    public EngineSnapshot Snapshot() => new(
        _scheduler.Running.Count, _scheduler.WaitingCount + _inbox.Count, _blocks.UsedBlocks, _blocks.TotalBlocks,
        _scheduler.TotalPreemptions, Steps)
    {
        SwapPreemptions = _scheduler.SwapPreemptions,
        SwappedInBlocks = _scheduler.SwappedInBlocks, // read before the blocks out, so a snapshot never shows more in than out
        SwappedOutBlocks = _scheduler.SwappedOutBlocks,
        Swapped = _scheduler.SwappedCount,
        UsedSwapBlocks = UsedSwapBlocks,
        TotalSwapBlocks = TotalSwapBlocks,
        PrefixCacheHitTokens = _blocks.HitTokens, // read before the queries, so a snapshot never shows more hits than queries
        PrefixCacheQueriedTokens = _blocks.QueriedTokens,
        CachedKvBlocks = _blocks.CachedBlocks,
        PrefixCacheEvictions = _blocks.Evictions,
        Speculation = _speculation?.Metrics.Snapshot(_speculation.Method),
    };

    /// <summary>
    /// Queues a request; <paramref name="observer"/> receives every update on the step thread, the last one final.
    /// Throws <see cref="ArgumentException"/> for an invalid request and <see cref="EngineOverloadedException"/>
    /// when the waiting queue is full.
    /// </summary>
    public void Submit(GenerationRequest request, Action<GenerationUpdate> observer)
    {
        Validate(request);
        if (Interlocked.Increment(ref _queued) > Options.MaxWaitingRequests + Options.MaxRunningSequences)
        {
            Interlocked.Decrement(ref _queued);
            throw new EngineOverloadedException($"the engine has {Options.MaxWaitingRequests} requests waiting; retry later");
        }

        _inbox.Enqueue(new InboxItem(request, observer, null));
        _wake.Release();
    }

    /// <summary>Submits a request and streams its updates; cancelling the token cancels the request and frees its blocks.</summary>
    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(
        GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Submit(request, u =>
        {
            channel.Writer.TryWrite(u);
            if (u.IsFinal)
            {
                channel.Writer.TryComplete();
            }
        });
        var finished = false;
        try
        {
            await foreach (var update in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                finished = update.IsFinal;
                yield return update;
            }
        }
        finally
        {
            if (!finished)
            {
                Cancel(request.Id);
            }
        }
    }

    /// <summary>Cancels a request; its blocks return to the pool before the next step. Unknown ids are ignored.</summary>
    public void Cancel(RequestId id)
    {
        _inbox.Enqueue(new InboxItem(null, null, id));
        _wake.Release();
    }

    /// <summary>
    /// Forgets every cached prefix before the next step (vLLM's reset_prefix_cache): after a change of weights, or to
    /// measure without warm blocks. Sequences running keep their blocks; nothing cached now is found again. Completes with
    /// the number of blocks forgotten when the next step drains the inbox (the step loop, or a <see cref="Step"/> call).
    /// </summary>
    public Task<int> ResetPrefixCacheAsync()
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _inbox.Enqueue(new InboxItem(null, null, null, done));
        _wake.Release();
        return done.Task;
    }

    /// <summary>Starts the step loop on a dedicated thread.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("the engine is already running");
        }

        _loop = new Thread(RunLoop) { IsBackground = true, Name = "brim-engine-step-loop" };
        _loop.Start();
    }

    /// <summary>Runs steps on the caller's thread until no work is left. For offline use without <see cref="Start"/>.</summary>
    public void RunUntilIdle()
    {
        while (Step())
        {
        }
    }

    /// <summary>
    /// One iteration: drain the inbox, schedule, copy swapped blocks, build the batch, run the model, accept the tokens,
    /// record the step. Returns false when there is no work.
    /// </summary>
    public bool Step()
    {
        DrainInbox();
        if (!_scheduler.HasWork)
        {
            return false;
        }

        _recorder.Start();
        _speculation?.ProposeDrafts();
        var plan = _scheduler.Schedule();
        foreach (var seq in plan.Rejected)
        {
            _live.Complete(seq, [], string.Empty, FinishReason.Error, null,
                $"the prompt needs {_blocks.BlocksFor(seq.Length)} KV blocks but the cache has {_blocks.TotalBlocks}",
                GenerationErrorKind.PromptExceedsKvCache);
        }

        // Before the forward pass, in decision order (see BlockSwap); even a step without chunks may have swapped out.
        var (swappedOut, swappedIn) = plan.Swaps.Count == 0 ? (0, 0) : _swapCopier!.Apply(plan.Swaps);
        if (plan.IsEmpty)
        {
            return _scheduler.HasWork;
        }

        var batch = _batchBuilder.Build(plan);
        var forwardStart = Stopwatch.GetTimestamp();
        _backend.Forward(batch.Batch, _output);
        var forwardSeconds = Stopwatch.GetElapsedTime(forwardStart).TotalSeconds;

        var sampled = _acceptor.Accept(plan, _output);

        if (_checkIntegrity)
        {
            _scheduler.CheckIntegrity();
        }

        var step = Interlocked.Increment(ref _step);
        _scheduler.ObserveStep(_recorder.ElapsedSeconds);
        var record = _recorder.Record(step, plan, batch, sampled, forwardSeconds, swappedOut, swappedIn);
        StepCompleted?.Invoke(_speculation is null ? record : record with { Speculation = _speculation.Step });
        return true;
    }

    /// <summary>Checks free + used == total for the KV blocks and the swap blocks (throws on a violation). Call between steps.</summary>
    public void CheckIntegrity() => _scheduler.CheckIntegrity();

    /// <summary>KV blocks in use (0 once every request has finished).</summary>
    public int UsedKvBlocks => _blocks.UsedBlocks;

    private void DrainInbox()
    {
        while (_inbox.TryDequeue(out var item))
        {
            if (item.Request is { } request)
            {
                if (_live.Contains(request.Id))
                {
                    Interlocked.Decrement(ref _queued);
                    item.Observer!(new GenerationUpdate
                    {
                        Id = request.Id, NewTokens = [], TextDelta = string.Empty, FinishReason = FinishReason.Error,
                        Error = $"request id {request.Id} is already running", ErrorKind = GenerationErrorKind.DuplicateRequestId,
                        PromptTokenCount = request.PromptTokens.Count,
                        CompletionTokenCount = 0,
                    });
                    continue;
                }

                var text = new TextOutput(_tokenizer, request.PromptTokens, request.Sampling.Stop);
                var seq = new Sequence(request, _arrivals++, text);
                _live.Add(seq, item.Observer!);
                _scheduler.Add(seq);
            }
            else if (item.Cancel is { } id && _live.TryGet(id, out var cancelled))
            {
                _live.Complete(cancelled, [], string.Empty, FinishReason.Cancelled, null);
            }
            else if (item.PrefixCacheReset is { } reset)
            {
                reset.TrySetResult(_blocks.ResetPrefixCache());
            }
        }
    }

    private void Validate(GenerationRequest request)
    {
        // The same owners the server's parser uses (SamplingParams, ContextWindow), so the checks cannot drift apart.
        request.Sampling.Validate(_backend.VocabSize);
        if (request.PromptTokens.Count == 0)
        {
            throw new ArgumentException("the prompt must contain at least one token", nameof(request));
        }

        new ContextWindow(MaxModelLength).CheckPrompt(request.PromptTokens.Count);

        foreach (var t in request.PromptTokens)
        {
            if ((uint)t >= (uint)_backend.VocabSize)
            {
                throw new ArgumentException($"token id {t} is outside the vocabulary (0..{_backend.VocabSize - 1})", nameof(request));
            }
        }
    }

    private void RunLoop()
    {
        while (!_stopping)
        {
            try
            {
                if (!Step())
                {
                    _wake.Wait(TimeSpan.FromMilliseconds(50));
                }
            }
            catch (Exception ex)
            {
                FailAll(ex);
            }
        }
    }

    /// <summary>A backend failure fails every live request with the reason instead of hanging their callers.</summary>
    private void FailAll(Exception ex)
    {
        foreach (var seq in _live.ToList())
        {
            _live.Complete(seq, [], string.Empty, FinishReason.Error, null, $"engine step failed: {ex.Message}");
        }
    }

    /// <summary>Stops the step loop (requests still live are cancelled).</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _wake.Release();
        _loop?.Join();
        DrainInbox();
        foreach (var seq in _live.ToList())
        {
            _live.Complete(seq, [], string.Empty, FinishReason.Cancelled, null);
        }

        _wake.Dispose();
    }

    private sealed record InboxItem(
        GenerationRequest? Request, Action<GenerationUpdate>? Observer, RequestId? Cancel, TaskCompletionSource<int>? PrefixCacheReset = null);
}
