using System.Diagnostics;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Server.Generation;

namespace Brim.Server.Observability;

/// <summary>
/// The span of one generation request (all its choices), a child of the HTTP request's span where there is one (a
/// Batch API line's stands alone). Named and tagged after OpenTelemetry's GenAI conventions ("chat stories260K";
/// gen_ai.usage.input_tokens, ...), plus brim.traffic_class and brim.time_to_first_token in seconds. Tokens are counted
/// as the response's usage counts them: prompt and cached tokens once per prompt, completion tokens over every choice.
/// Only created while a tracer listens to the "Brim" source; otherwise <see cref="Start"/> returns null and costs nothing.
/// </summary>
internal sealed class GenerationSpan
{
    private readonly Activity _activity;
    private readonly GenerationSpec _spec;
    private readonly string?[] _finishReasons;
    private readonly int[] _cached;
    private int _completionTokens;
    private TimeSpan? _timeToFirstToken;
    private string? _error;

    private GenerationSpan(Activity activity, GenerationSpec spec)
    {
        _activity = activity;
        _spec = spec;
        _finishReasons = new string?[spec.ChoiceCount];
        _cached = new int[spec.ChoiceCount];
    }

    public static GenerationSpan? Start(GenerationSpec spec, string model, string responseId)
    {
        var source = BrimTracing.Source;
        if (!source.HasListeners())
        {
            return null;
        }

        var operation = spec.Kind == ApiKind.Chat ? "chat" : "text_completion";
        var previous = Activity.Current;
        var activity = source.StartActivity($"{operation} {model}", ActivityKind.Internal);

        // Never the ambient span: nothing runs under it, and the request's flow goes on under its own span.
        Activity.Current = previous;
        if (activity is null)
        {
            return null; // sampled out
        }

        activity.SetTag("gen_ai.operation.name", operation);
        activity.SetTag("gen_ai.request.model", model);
        activity.SetTag("gen_ai.response.id", responseId);
        activity.SetTag("brim.traffic_class", spec.TrafficClass == TrafficClass.Online ? "online" : "offline");
        activity.SetTag("brim.choices", spec.ChoiceCount);
        return new GenerationSpan(activity, spec);
    }

    /// <summary>A choice's first token, <paramref name="sinceArrival"/> after the request arrived; the span keeps the earliest.</summary>
    public void FirstToken(TimeSpan sinceArrival)
    {
        if (_timeToFirstToken is not { } t || sinceArrival < t)
        {
            _timeToFirstToken = sinceArrival;
        }
    }

    /// <summary>A choice's last update (it carries the finish reason and the token counts).</summary>
    public void ChoiceFinished(int choice, GenerationUpdate last)
    {
        _finishReasons[choice] = ResponseFormat.FinishName(last.FinishReason);
        _cached[choice] = last.CachedPromptTokenCount;
        _completionTokens += last.CompletionTokenCount;
        if (last.FinishReason == FinishReason.Error)
        {
            _error ??= last.Error ?? "the engine could not run the request";
        }
    }

    /// <summary>Ends the span; choices that never finished (the client went away, the drain ended them) count as aborted.</summary>
    public void End()
    {
        if (_activity.IsStopped)
        {
            return;
        }

        var prompt = 0;
        var cached = 0;
        for (var p = 0; p < _spec.Prompts.Count; p++)
        {
            prompt += _spec.Prompts[p].Length;
            cached += _cached[p * _spec.N];
        }

        _activity.SetTag("gen_ai.usage.input_tokens", prompt);
        _activity.SetTag("gen_ai.usage.output_tokens", _completionTokens);
        _activity.SetTag("gen_ai.usage.cache_read.input_tokens", cached);
        _activity.SetTag("gen_ai.response.finish_reasons", _finishReasons.Select(r => r ?? "abort").ToArray());
        if (_timeToFirstToken is { } ttft)
        {
            _activity.SetTag("brim.time_to_first_token", ttft.TotalSeconds);
        }

        if (_error is not null)
        {
            _activity.SetStatus(ActivityStatusCode.Error, _error);
        }

        _activity.Stop();
    }
}
