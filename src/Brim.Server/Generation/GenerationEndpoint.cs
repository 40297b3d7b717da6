using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Server.Routing;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Generation;

/// <summary>
/// POST /v1/completions and /v1/chat/completions: parse, submit one engine request per choice, and answer with one
/// JSON response or a Server-Sent Events stream.
/// </summary>
internal static class GenerationEndpoint
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    internal static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    internal static readonly JsonWriterOptions WriterOptions = ResponseJson.Unvalidated;

    public static async Task HandleAsync(HttpContext context, ServerContext server, ApiKind kind)
    {
        var arrival = Stopwatch.GetTimestamp();
        var aborted = context.RequestAborted;

        // Counted before the check, so a drain that saw no request open cannot miss one that passed it.
        using var inFlight = server.InFlight.Enter();
        if (!server.Accepting)
        {
            throw ShuttingDown(server);
        }

        GenerationSpec spec;
        ServerContext model;
        RoutedRequest? routed = null;
        using (var body = await RequestBody.ReadJsonAsync(context.Request, server.Options.MaxRequestBodyBytes, aborted).ConfigureAwait(false))
        {
            // The model named decides the tokenizer, the template and the context the rest is parsed against.
            var name = JsonFields.String(body.RootElement, "model");
            if (server.IsRouterAlias(name))
            {
                routed = RoutedRequest.Parse(body.RootElement, kind, server);
                (model, spec) = (routed.Model, routed.Spec);
            }
            else
            {
                model = server.Resolve(name);
                spec = Parse(body.RootElement, kind, model);
            }
        }

        if (routed is { Decision.IsCascade: true })
        {
            await CascadeEndpoint.AnswerAsync(context, server, routed, arrival).ConfigureAwait(false);
            return;
        }

        if (routed is not null)
        {
            context.Response.Headers[RoutingHeaders.Route] = routed.Decision.Route;
            server.Router!.Metrics.Answered(routed.Decision.Route, model.ModelName);
        }

        var id = ResponseFormat.NewId(kind);
        var format = ResponseFormat.For(spec, id, model.Tokenizer);
        using var run = GenerationRun.Start(model, spec, id, arrival);

        // Waiting for the engine also ends when the shutdown drain times out; writing to the client only on its abort.
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(aborted, server.InFlight.Expired);
        if (spec.Stream)
        {
            await StreamAsync(context, spec, format, run, waiting.Token).ConfigureAwait(false);
            return;
        }

        ChoiceResult[] choices;
        try
        {
            choices = await CollectAsync(spec, run, waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (server.InFlight.Expired.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw DrainExpired();
        }

        await RespondAsync(context, format, choices).ConfigureAwait(false);
    }

    /// <summary>Parses a request body against one served model's tokenizer, template and context.</summary>
    internal static GenerationSpec Parse(JsonElement root, ApiKind kind, ServerContext model) => kind == ApiKind.Chat
        ? ChatRequestParser.Parse(root, model)
        : CompletionRequestParser.Parse(root, model);

    private static ApiException ShuttingDown(ServerContext server) =>
        new(503, "the server is shutting down and takes no new requests", code: "server_shutting_down") { RetryAfterSeconds = server.Options.RetryAfterSeconds };

    internal static ApiException DrainExpired() =>
        new(503, "the server shut down before the request finished (the drain timeout passed)", code: "server_shutting_down");

    internal static async Task RespondAsync(HttpContext context, ResponseFormat format, ChoiceResult[] choices)
    {
        var response = context.Response;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            format.WriteFull(json, choices);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a run to its end into one result per choice; an engine failure throws the <see cref="ApiException"/> the
    /// endpoint answers with. The Batch API calls this too, so a batch line runs exactly as a non-streaming request.
    /// </summary>
    internal static async Task<ChoiceResult[]> CollectAsync(GenerationSpec spec, GenerationRun run, CancellationToken cancellationToken)
    {
        var choices = new ChoiceResult[run.Choices];
        for (var i = 0; i < choices.Length; i++)
        {
            choices[i] = new ChoiceResult { Logprobs = spec.Logprobs ? [] : null };
        }

        while (await run.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (run.TryRead(out var update))
            {
                choices[update.Choice].Add(update.Update);
            }
        }

        foreach (var choice in choices)
        {
            ThrowIfFailed(choice.FinishReason, choice.ErrorKind, choice.Error);
        }

        return choices;
    }

    /// <summary>
    /// Writes one SSE event per update. All updates already waiting are written before one flush, so a client that
    /// falls behind gets fewer, larger writes instead of slowing the engine.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, GenerationSpec spec, ResponseFormat format, GenerationRun run, CancellationToken waiting)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var pipe = response.BodyWriter;
        using var json = new Utf8JsonWriter(pipe, WriterOptions);
        var started = new bool[run.Choices];
        var cached = new int[run.Choices];
        var completionTokens = 0;

        if (spec.Kind == ApiKind.Chat)
        {
            // The role comes first, before the model has produced anything, as OpenAI streams it.
            for (var choice = 0; choice < started.Length; choice++)
            {
                WriteEvent(pipe, json, j => format.WriteChunk(j, choice, string.Empty, null, null, first: true));
                started[choice] = true;
            }

            await pipe.FlushAsync(aborted).ConfigureAwait(false);
        }

        while (await WaitOrDrainedAsync(run, waiting, aborted).ConfigureAwait(false))
        {
            while (run.TryRead(out var item))
            {
                var u = item.Update;
                if (u.FinishReason is FinishReason.Error or FinishReason.Cancelled)
                {
                    WriteErrorEvent(pipe, json, u.FinishReason.Value, u.ErrorKind, u.Error);
                    continue;
                }

                var first = !started[item.Choice];
                if (u.TextDelta.Length == 0 && u.FinishReason is null && !first && !spec.Logprobs)
                {
                    continue; // held back (a partial character or a possible stop string): nothing to show yet
                }

                started[item.Choice] = true;
                cached[item.Choice] = u.CachedPromptTokenCount;
                completionTokens += u.NewTokens.Count;
                WriteChunk(pipe, json, format, item.Choice, u, first);
            }

            await pipe.FlushAsync(aborted).ConfigureAwait(false);
        }

        if (!run.AllFinished)
        {
            // The drain timeout ended the stream: say so in-band, then end it as every stream ends.
            var error = DrainExpired();
            WriteEvent(pipe, json, j => ErrorResponses.WriteEnvelope(j, error.Message, error.Type, error.Param, error.Code));
        }
        else if (spec.IncludeUsage)
        {
            var prompt = format.PromptTokens();
            WriteEvent(pipe, json, j => format.WriteUsageChunk(j, prompt, completionTokens, format.CachedPromptTokens(cached)));
        }

        pipe.Write(Done);
        await pipe.FlushAsync(aborted).ConfigureAwait(false);
    }

    /// <summary>Like <see cref="GenerationRun.WaitToReadAsync"/>, but false (leaving the run unfinished) once the drain timed out.</summary>
    private static async Task<bool> WaitOrDrainedAsync(GenerationRun run, CancellationToken waiting, CancellationToken aborted)
    {
        try
        {
            return await run.WaitToReadAsync(waiting).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            return false;
        }
    }

    private static void WriteChunk(System.IO.Pipelines.PipeWriter pipe, Utf8JsonWriter json, ResponseFormat format, int choice, Engine.GenerationUpdate u, bool first)
    {
        pipe.Write(DataPrefix);
        json.Reset();
        format.WriteChunk(json, choice, u.TextDelta, u.Logprobs, u.FinishReason, first);
        json.Flush();
        pipe.Write(EventEnd);
    }

    internal static void WriteEvent(System.IO.Pipelines.PipeWriter pipe, Utf8JsonWriter json, Action<Utf8JsonWriter> write)
    {
        pipe.Write(DataPrefix);
        json.Reset();
        write(json);
        json.Flush();
        pipe.Write(EventEnd);
    }

    private static void WriteErrorEvent(System.IO.Pipelines.PipeWriter pipe, Utf8JsonWriter json, FinishReason reason, GenerationErrorKind? kind, string? error)
    {
        var failure = Failure(reason, kind, error);
        WriteEvent(pipe, json, j => ErrorResponses.WriteEnvelope(j, failure.Message, failure.Type, failure.Param, failure.Code));
    }

    private static void ThrowIfFailed(FinishReason? reason, GenerationErrorKind? kind, string? error)
    {
        if (reason is FinishReason.Error or FinishReason.Cancelled)
        {
            throw Failure(reason.Value, kind, error);
        }
    }

    /// <summary>
    /// An engine failure as an API error. Only a request the KV cache can never hold is the client's (400); a
    /// cancellation the client did not ask for means the server is shutting down (503); anything else the engine
    /// reports (a failed step, a request id it already runs) is ours (500), never a 400 that tells a client to change a
    /// request that was fine. A full queue never gets here: Submit refuses it with a 429 and Retry-After.
    /// </summary>
    private static ApiException Failure(FinishReason reason, GenerationErrorKind? kind, string? error) => reason switch
    {
        FinishReason.Cancelled => new ApiException(503, "the request was cancelled because the server is shutting down", code: "server_shutting_down"),
        _ when kind == GenerationErrorKind.PromptExceedsKvCache => ApiException.BadRequest(error ?? "the prompt can never fit the KV cache", code: "engine_rejected"),
        _ => new ApiException(500, error ?? "the engine could not run the request"),
    };
}
