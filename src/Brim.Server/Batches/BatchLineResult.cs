using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Brim.Server.Api;
using Brim.Server.Generation;

namespace Brim.Server.Batches;

/// <summary>What running one line came to: a result to record (done or failed), or nothing yet (run it again later).</summary>
internal readonly record struct LineOutcome(LineState State, string? Result)
{
    public static readonly LineOutcome Retry = new(LineState.Pending, null);
}

/// <summary>
/// Runs one batch line through the engine as offline traffic, with the online endpoint's parser, run and response
/// format, and builds its output line <c>{"id","custom_id","response":{"status_code","request_id","body"},"error":null}</c>.
/// </summary>
internal static class BatchLineResult
{
    public static string NewRequestId() => "batch_req_" + Guid.NewGuid().ToString("N");

    public static async Task<LineOutcome> RunAsync(ServerContext server, Api.ApiKind kind, PendingLine line, CancellationToken cancellationToken)
    {
        var arrival = Stopwatch.GetTimestamp();
        var id = ResponseFormat.NewId(kind);
        try
        {
            GenerationSpec spec;
            ServerContext model;
            Routing.RoutedRequest? routed;
            using (var body = JsonDocument.Parse(line.Body))
            {
                (spec, model, routed) = BatchEndpointKind.ParseBody(body.RootElement, kind, server);
            }

            if (routed is { Decision.IsCascade: true })
            {
                var outcome = await Routing.CascadeRun.RunAsync(routed, server.Router!, id, arrival, cancellationToken).ConfigureAwait(false);
                var answered = ResponseFormat.For(outcome.Spec, id, outcome.Answered.Tokenizer);
                return new LineOutcome(LineState.Done, Write(line.CustomId, 200, id, json => answered.WriteFull(json, outcome.Choices)));
            }

            if (routed is not null)
            {
                server.Router!.Metrics.Answered(routed.Decision.Route, model.ModelName);
            }

            var format = ResponseFormat.For(spec, id, model.Tokenizer);
            using var run = GenerationRun.Start(model, spec, id, arrival);
            var choices = await GenerationEndpoint.CollectAsync(spec, run, cancellationToken).ConfigureAwait(false);
            return new LineOutcome(LineState.Done, Write(line.CustomId, 200, id, json => format.WriteFull(json, choices)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return LineOutcome.Retry; // shutdown or batch cancel: the line stays pending
        }
        catch (ApiException e) when (e.StatusCode is 429 or 503)
        {
            return LineOutcome.Retry; // the engine is full or stopping: not the line's fault
        }
        catch (ApiException e)
        {
            return new LineOutcome(LineState.Failed, Write(line.CustomId, e.StatusCode, id, json => ErrorResponses.WriteEnvelope(json, e.Message, e.Type, e.Param, e.Code)));
        }
    }

    private static string Write(string customId, int statusCode, string requestId, Action<Utf8JsonWriter> writeBody)
    {
        // The response formats write a whole document, so the body is written on its own and embedded raw.
        var body = new ArrayBufferWriter<byte>(1024);
        using (var bodyJson = new Utf8JsonWriter(body, Api.ResponseJson.Options))
        {
            writeBody(bodyJson);
        }

        var line = new ArrayBufferWriter<byte>(body.WrittenCount + 256);
        using (var json = new Utf8JsonWriter(line, Api.ResponseJson.Options))
        {
            json.WriteStartObject();
            json.WriteString("id", NewRequestId());
            json.WriteString("custom_id", customId);
            json.WriteStartObject("response");
            json.WriteNumber("status_code", statusCode);
            json.WriteString("request_id", requestId);
            json.WritePropertyName("body");
            json.WriteRawValue(body.WrittenSpan, skipInputValidation: true);
            json.WriteEndObject();
            json.WriteNull("error");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(line.WrittenSpan);
    }
}
