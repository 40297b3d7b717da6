using System.Diagnostics;
using System.Threading.Channels;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Server.Metrics;
using Brim.Server.Observability;

namespace Brim.Server.Generation;

/// <summary>One choice's update, tagged with the choice index it belongs to.</summary>
internal readonly record struct ChoiceUpdate(int Choice, GenerationUpdate Update);

/// <summary>
/// The engine requests behind one HTTP request (one per choice) merged into a single stream of updates ordered as the
/// engine produced them. Records the request metrics (and its span, when traced) as updates are read. Disposing it before every choice finished
/// (a client that went away, an error) cancels the rest, which frees their KV blocks before the engine's next step.
/// </summary>
internal sealed class GenerationRun : IDisposable
{
    private readonly LlmEngine _engine;
    private readonly ServerMetrics _metrics;
    private readonly TrafficClass _trafficClass;
    private readonly TrafficClassMetrics _classMetrics;
    private readonly RequestId[] _ids;
    private readonly long[] _lastTokenAt; // 0 until the choice's first token
    private readonly bool[] _finished;
    private readonly int[] _promptTokens;
    private readonly int[] _generated;
    private readonly long _arrival;
    private readonly long[] _firstTokenAt;
    private GenerationSpan? _span;
    private int _submitted;
    private int _open;

    // Observers run on the engine's step thread, the only writer; the HTTP request is the only reader.
    private readonly Channel<ChoiceUpdate> _updates =
        Channel.CreateUnbounded<ChoiceUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    private GenerationRun(LlmEngine engine, ServerMetrics metrics, TrafficClass trafficClass, int choices, long arrival)
    {
        _engine = engine;
        _metrics = metrics;
        _trafficClass = trafficClass;
        _classMetrics = metrics.For(trafficClass);
        _ids = new RequestId[choices];
        _lastTokenAt = new long[choices];
        _firstTokenAt = new long[choices];
        _finished = new bool[choices];
        _promptTokens = new int[choices];
        _generated = new int[choices];
        _arrival = arrival;
    }

    public int Choices => _ids.Length;

    /// <summary>
    /// Submits one engine request per choice. A full waiting queue is a 429 with Retry-After (the choices already
    /// submitted are cancelled); an engine refusal of the request is a 400.
    /// </summary>
    public static GenerationRun Start(ServerContext server, GenerationSpec spec, string responseId, long arrivalTimestamp)
    {
        var run = new GenerationRun(server.Engine, server.Metrics, spec.TrafficClass, spec.ChoiceCount, arrivalTimestamp)
        {
            _span = GenerationSpan.Start(spec, server.ModelName, responseId),
        };
        try
        {
            for (var choice = 0; choice < spec.ChoiceCount; choice++)
            {
                var index = choice;
                var id = new RequestId(spec.ChoiceCount == 1 ? responseId : $"{responseId}-{choice}");
                run._ids[choice] = id;
                run._promptTokens[choice] = spec.Prompts[choice / spec.N].Length;
                server.Engine.Submit(
                    new GenerationRequest
                    {
                        Id = id,
                        PromptTokens = spec.Prompts[choice / spec.N],
                        Sampling = spec.SamplingFor(choice),
                        TrafficClass = spec.TrafficClass,
                        Priority = spec.Priority,
                        CacheSalt = spec.CacheSalt,
                        AllowSpeculation = spec.AllowSpeculation,
                        FairShareRank = choice,
                    },
                    update => run._updates.Writer.TryWrite(new ChoiceUpdate(index, update)));
                run._submitted++;
                run._open++;
            }
        }
        catch (EngineOverloadedException e)
        {
            run.Dispose();
            throw new ApiException(429, e.Message, code: "engine_overloaded") { RetryAfterSeconds = server.Options.RetryAfterSeconds };
        }
        catch (ArgumentException e)
        {
            run.Dispose();
            throw ApiException.BadRequest(SamplingFields.StripParamSuffix(e));
        }

        return run;
    }

    public bool AllFinished => _open == 0;

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
        AllFinished ? ValueTask.FromResult(false) : _updates.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Takes the next update if one is ready, recording its latency metrics.</summary>
    public bool TryRead(out ChoiceUpdate update)
    {
        if (!_updates.Reader.TryRead(out update))
        {
            return false;
        }

        var choice = update.Choice;
        var u = update.Update;
        var now = Stopwatch.GetTimestamp();
        if (u.NewTokens.Count > 0)
        {
            if (_lastTokenAt[choice] == 0)
            {
                var timeToFirstToken = Stopwatch.GetElapsedTime(_arrival, now);
                _classMetrics.TimeToFirstToken.Observe(timeToFirstToken.TotalSeconds);
                _span?.FirstToken(timeToFirstToken);
                _firstTokenAt[choice] = now;
            }
            else
            {
                _classMetrics.InterTokenLatency.Observe(Stopwatch.GetElapsedTime(_lastTokenAt[choice], now).TotalSeconds);
            }

            _lastTokenAt[choice] = now;
            _generated[choice] = u.CompletionTokenCount;
        }

        if (u.FinishReason is { } reason && !_finished[choice])
        {
            _finished[choice] = true;
            _open--;
            _metrics.RequestFinished(_trafficClass, u.PromptTokenCount, u.CompletionTokenCount, reason, _arrival);
            _span?.ChoiceFinished(choice, u);
            if (reason is FinishReason.Stop or FinishReason.Length && _firstTokenAt[choice] != 0)
            {
                var first = _firstTokenAt[choice];
                var tokens = u.CompletionTokenCount;
                var tpot = tokens > 1 ? Stopwatch.GetElapsedTime(first, now) / (tokens - 1) : TimeSpan.Zero;
                if (tokens > 1)
                {
                    _classMetrics.TimePerOutputToken.Observe(tpot.TotalSeconds);
                }

                _metrics.GenerationCompleted(new CompletedGeneration(_trafficClass, Stopwatch.GetElapsedTime(_arrival, first), tpot, Stopwatch.GetElapsedTime(_arrival, now), tokens));
            }

            if (_open == 0)
            {
                _span?.End();
            }
        }

        return true;
    }

    /// <summary>Cancels every choice that has not finished (counted as aborted); safe to call more than once.</summary>
    public void Dispose()
    {
        for (var choice = 0; choice < _submitted; choice++)
        {
            if (!_finished[choice])
            {
                _finished[choice] = true;
                _engine.Cancel(_ids[choice]);
                _metrics.RequestFinished(_trafficClass, _promptTokens[choice], _generated[choice], FinishReason.Cancelled, _arrival);
            }
        }

        _open = 0;
        _span?.End();
    }
}
