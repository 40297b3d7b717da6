using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Brim.Server.Bench;

/// <summary>
/// Streaming /v1/completions requests over HTTP, the way an OpenAI client sends them (token-id prompt, max_tokens,
/// ignore_eos, stream with include_usage). Only loopback servers are allowed: this is a benchmark, not a load
/// tester for other people's machines. Events are scanned as bytes; only the final usage event is parsed.
/// </summary>
public sealed class HttpStreamingTarget : IBenchTarget, IDisposable
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] UsageMarker = "\"choices\":[]"u8.ToArray();
    private static readonly byte[] DoneMarker = "[DONE]"u8.ToArray();
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly string? _model;

    public HttpStreamingTarget(Uri baseAddress, string? model, string? apiKey)
    {
        if (!IsLoopback(baseAddress))
        {
            throw new ArgumentException($"the benchmark only targets loopback servers (127.0.0.1, ::1, localhost), not {baseAddress.Host}", nameof(baseAddress));
        }

        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (apiKey is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        _model = model;
    }

    /// <summary>When set, every request carries <c>speculative_decoding</c> with this value (false opts out).</summary>
    public bool? SpeculativeDecoding { get; init; }

    public string Name => "server";

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    public async Task<RequestTiming> SendAsync(BenchRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new ByteArrayContent(Body(request)) };
        message.Content.Headers.ContentType = Json;
        var start = Stopwatch.GetTimestamp();
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var error = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return new RequestTiming { Succeeded = false, Error = $"HTTP {(int)response.StatusCode}: {error}" };
        }

        var reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        var last = start;
        double ttft = 0;
        var events = 0;
        var usageTokens = -1;
        var itls = new List<double>(request.OutputTokens);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            while (TryReadLine(ref buffer, out var line))
            {
                if (!line.StartsWith(DataPrefix) || line.Length == DataPrefix.Length)
                {
                    continue;
                }

                var data = line[DataPrefix.Length..];
                if (data.SequenceEqual(DoneMarker))
                {
                    continue;
                }

                if (data.IndexOf(UsageMarker) >= 0)
                {
                    using var usage = JsonDocument.Parse(data.ToArray());
                    usageTokens = usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                if (events++ == 0)
                {
                    ttft = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                }
                else
                {
                    itls.Add(Stopwatch.GetElapsedTime(last, now).TotalSeconds);
                }

                last = now;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync().ConfigureAwait(false);
        return new RequestTiming
        {
            Succeeded = events > 0, TimeToFirstToken = ttft, EndToEnd = Stopwatch.GetElapsedTime(start).TotalSeconds,
            OutputTokens = usageTokens >= 0 ? usageTokens : events, InterTokenLatencies = itls,
            Error = events > 0 ? null : "the stream carried no tokens",
        };
    }

    public void Dispose() => _http.Dispose();

    private byte[] Body(BenchRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(request.Prompt.Length * 4 + 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (_model is not null)
            {
                json.WriteString("model", _model);
            }

            json.WriteStartArray("prompt");
            foreach (var t in request.Prompt)
            {
                json.WriteNumberValue(t);
            }

            json.WriteEndArray();
            json.WriteNumber("max_tokens", request.OutputTokens);
            json.WriteNumber("temperature", 0);
            json.WriteBoolean("ignore_eos", true);
            if (SpeculativeDecoding is { } speculative)
            {
                json.WriteBoolean("speculative_decoding", speculative);
            }

            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySpan<byte> line)
    {
        var end = buffer.PositionOf((byte)'\n');
        if (end is null)
        {
            line = default;
            return false;
        }

        var slice = buffer.Slice(0, end.Value);
        line = slice.IsSingleSegment ? slice.FirstSpan : slice.ToArray();
        buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
        return true;
    }
}
