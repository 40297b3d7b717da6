using System.Buffers;
using System.Text.Json;
using Brim.Server.Api;
using Brim.Server.Generation;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Routing;

/// <summary>
/// The HTTP answer to a request the router sent to the cascade: run it (<see cref="CascadeRun"/>), say in headers how it
/// was decided, then answer with the chosen model's response, whole or as a stream written once decided.
/// </summary>
internal static class CascadeEndpoint
{
    /// <summary>
    /// A request the router sent to the cascade: answered whole by the small model or, below the confidence bar, by the
    /// large one. Response headers say which route decided it, whether it escalated and the small model's confidence.
    /// </summary>
    public static async Task AnswerAsync(HttpContext context, ServerContext server, RoutedRequest routed, long arrival)
    {
        var aborted = context.RequestAborted;
        var id = ResponseFormat.NewId(routed.Spec.Kind);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(aborted, server.InFlight.Expired);
        CascadeRun.Outcome outcome;
        try
        {
            outcome = await CascadeRun.RunAsync(routed, server.Router!, id, arrival, waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (server.InFlight.Expired.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw GenerationEndpoint.DrainExpired();
        }

        var headers = context.Response.Headers;
        headers[RoutingHeaders.Route] = routed.Decision.Route;
        headers[RoutingHeaders.Escalated] = outcome.Escalated ? "true" : "false";
        if (outcome.Confidence is { } confidence)
        {
            headers[RoutingHeaders.Confidence] = confidence.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }

        var format = ResponseFormat.For(outcome.Spec, id, outcome.Answered.Tokenizer);
        if (outcome.Spec.Stream)
        {
            await StreamDecidedAsync(context, outcome.Spec, format, outcome.Choices).ConfigureAwait(false);
            return;
        }

        await GenerationEndpoint.RespondAsync(context, format, outcome.Choices).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams an answer that is already whole (the cascade's, once decided): per choice the role chunk (chat), then its
    /// text in one chunk with its finish reason, then the usage chunk when asked for and [DONE]. The client's SSE parser
    /// reads it as any stream; only the token-by-token pacing is gone, because nothing is shown before the decision.
    /// </summary>
    private static async Task StreamDecidedAsync(HttpContext context, GenerationSpec spec, ResponseFormat format, ChoiceResult[] choices)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var pipe = response.BodyWriter;
        using var json = new Utf8JsonWriter(pipe, GenerationEndpoint.WriterOptions);
        var chat = spec.Kind == ApiKind.Chat;
        for (var choice = 0; choice < choices.Length; choice++)
        {
            var index = choice;
            var result = choices[choice];
            if (chat)
            {
                GenerationEndpoint.WriteEvent(pipe, json, j => format.WriteChunk(j, index, string.Empty, null, null, first: true));
            }

            GenerationEndpoint.WriteEvent(pipe, json, j => format.WriteChunk(j, index, result.Text.ToString(), spec.Logprobs ? result.Logprobs : null, result.FinishReason, first: !chat));
        }

        if (spec.IncludeUsage)
        {
            var cached = format.CachedPromptTokens([.. choices.Select(c => c.CachedPromptTokens)]);
            GenerationEndpoint.WriteEvent(pipe, json, j => format.WriteUsageChunk(j, format.PromptTokens(), choices.Sum(c => c.CompletionTokens), cached));
        }

        pipe.Write(GenerationEndpoint.Done);
        await pipe.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
