using Brim.Server.Api;
using Brim.Server.Generation;

namespace Brim.Server.Routing;

/// <summary>
/// Answers a cascaded request: the small model first, its tokens' logprobs collected whether or not the client asked
/// for them; when its finished answer's confidence is below the threshold, the large model answers the request again
/// and its answer is the one returned (the <c>model</c> field names it). Both runs are counted in their own model's
/// metrics; the large run's latencies count from the request's arrival, so they include the small run.
/// </summary>
internal static class CascadeRun
{
    /// <param name="Answered">The model whose answer is returned.</param>
    /// <param name="Spec">The request as that model parsed it (its response format is written from it).</param>
    /// <param name="Confidence">The small model's confidence in its answer (its configured measure).</param>
    public sealed record Outcome(ServerContext Answered, GenerationSpec Spec, ChoiceResult[] Choices, double? Confidence, bool Escalated);

    public static async Task<Outcome> RunAsync(RoutedRequest request, ModelRouter router, string id, long arrival, CancellationToken cancellationToken)
    {
        var cascade = router.Config.Cascade ?? throw new InvalidOperationException("the router has no cascade");
        var large = request.Large ?? throw new InvalidOperationException("a cascaded request is parsed for the large model too");
        var spec = request.Spec;
        var judged = spec with { Sampling = spec.Sampling with { Logprobs = spec.Sampling.Logprobs ?? 0 } };
        ChoiceResult[] answer;
        using (var run = GenerationRun.Start(request.Model, judged, id, arrival))
        {
            answer = await GenerationEndpoint.CollectAsync(judged, run, cancellationToken).ConfigureAwait(false);
        }

        var confidence = AnswerConfidence.Of(answer, cascade.Measure);
        var escalate = confidence < cascade.Threshold;
        if (!escalate)
        {
            router.Metrics.CascadeDecided(escalated: false);
            router.Metrics.Answered(request.Decision.Route, request.Model.ModelName);
            return new Outcome(request.Model, spec, answer, confidence, Escalated: false);
        }

        var largeSpec = request.LargeSpec!;
        using (var run = GenerationRun.Start(large, largeSpec, id, arrival))
        {
            answer = await GenerationEndpoint.CollectAsync(largeSpec, run, cancellationToken).ConfigureAwait(false);
        }

        router.Metrics.CascadeDecided(escalated: true);
        router.Metrics.Answered(request.Decision.Route, large.ModelName);
        return new Outcome(large, largeSpec, answer, confidence, Escalated: true);
    }
}
