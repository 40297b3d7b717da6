using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.AI;
using BrimMessage = Brim.ChatTemplates.ChatMessage;
using BrimToolCall = Brim.ChatTemplates.ChatToolCall;

namespace Brim.Server.Chat;

/// <summary>
/// In-process <see cref="IChatClient"/> over a <see cref="ModelHost"/>: the same chat template, tokenizer and engine
/// as the HTTP server, without HTTP. Supports text, tool calls and tool results in the conversation (the template
/// renders them); the model's reply is text. Starts the host's engine if it is not running.
/// </summary>
public sealed class BrimChatClient : IChatClient
{
    private readonly ModelHost _host;
    private readonly ChatPromptEncoder _prompts;
    private readonly ChatClientMetadata _metadata;

    public BrimChatClient(ModelHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
        _prompts = new ChatPromptEncoder(host.ChatTemplate, host.Tokenizer);
        _metadata = new ChatClientMetadata("brim", null, host.ServedModelName);
        host.StartEngine();
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = CreateRequest(messages, options);
        var text = new StringBuilder();
        GenerationUpdate? last = null;
        await foreach (var update in _host.Engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.TextDelta);
            last = update;
        }

        ThrowIfFailed(last);
        return new ChatResponse(new Microsoft.Extensions.AI.ChatMessage(ChatRole.Assistant, text.ToString()))
        {
            ResponseId = request.Id.Value,
            ModelId = _host.ServedModelName,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = MapFinish(last!.FinishReason),
            Usage = Usage(last),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = CreateRequest(messages, options);
        await foreach (var update in _host.Engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update.IsFinal)
            {
                ThrowIfFailed(update);
            }

            var chunk = new ChatResponseUpdate(ChatRole.Assistant, update.TextDelta)
            {
                ResponseId = request.Id.Value,
                MessageId = request.Id.Value,
                ModelId = _host.ServedModelName,
                FinishReason = update.IsFinal ? MapFinish(update.FinishReason) : null,
            };
            if (update.IsFinal)
            {
                chunk.Contents.Add(new UsageContent(Usage(update)));
            }

            yield return chunk;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_host) ? _host
            : null;
    }

    /// <summary>The host belongs to the caller; nothing to release here.</summary>
    public void Dispose()
    {
    }

    private GenerationRequest CreateRequest(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        RefuseUnsupported(options);
        var converted = messages.Select(Convert).ToList();
        if (converted.Count == 0)
        {
            throw new ArgumentException("at least one message is needed", nameof(messages));
        }

        var prompt = _prompts.Encode(converted);
        var window = new ContextWindow(_host.Engine.MaxModelLength);
        window.CheckPrompt(prompt.Length);

        var sampling = new SamplingParams
        {
            Temperature = options?.Temperature ?? 1f,
            TopP = options?.TopP ?? 1f,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed,
            MaxTokens = window.MaxTokensFor(prompt.Length, options?.MaxOutputTokens, int.MaxValue), // chat's default: the rest of the context
            Stop = options?.StopSequences is { } stop ? [.. stop] : [],
            PresencePenalty = options?.PresencePenalty ?? 0f,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0f,
        };
        return new GenerationRequest { Id = new RequestId("chat-" + Guid.NewGuid().ToString("N")), PromptTokens = prompt, Sampling = sampling };
    }

    /// <summary>As the HTTP server refuses them (docs/api.md): an answer that ignored tools or a JSON schema would be wrong, not partial.</summary>
    private static void RefuseUnsupported(ChatOptions? options)
    {
        if (options?.Tools is { Count: > 0 })
        {
            throw new NotSupportedException("Brim does not implement tool calling: ChatOptions.Tools must be empty");
        }

        if (options?.ResponseFormat is ChatResponseFormatJson)
        {
            throw new NotSupportedException("Brim does not constrain output to JSON: ChatOptions.ResponseFormat must be text");
        }
    }

    private static BrimMessage Convert(Microsoft.Extensions.AI.ChatMessage message)
    {
        var toolCalls = message.Contents.OfType<FunctionCallContent>()
            .Select(c => new BrimToolCall(c.CallId, c.Name, JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>())))
            .ToList();
        if (message.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result)
        {
            return new BrimMessage { Role = "tool", Content = result.Result?.ToString() ?? string.Empty, ToolCallId = result.CallId };
        }

        foreach (var content in message.Contents)
        {
            if (content is not (TextContent or FunctionCallContent or UsageContent or TextReasoningContent))
            {
                throw new NotSupportedException($"{content.GetType().Name} content is not supported: this model reads text");
            }
        }

        return new BrimMessage
        {
            Role = message.Role.Value,
            Content = message.Text,
            Name = message.AuthorName,
            ToolCalls = toolCalls.Count > 0 ? toolCalls : null,
        };
    }

    private static void ThrowIfFailed(GenerationUpdate? last)
    {
        if (last?.FinishReason is FinishReason.Error)
        {
            throw new InvalidOperationException(last.Error ?? "the engine could not run the request");
        }

        if (last?.FinishReason is null or FinishReason.Cancelled)
        {
            throw new OperationCanceledException("the request was cancelled");
        }
    }

    private static ChatFinishReason MapFinish(FinishReason? reason) =>
        reason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private static UsageDetails Usage(GenerationUpdate update) => new()
    {
        InputTokenCount = update.PromptTokenCount,
        OutputTokenCount = update.CompletionTokenCount,
        TotalTokenCount = update.PromptTokenCount + update.CompletionTokenCount,
        CachedInputTokenCount = update.CachedPromptTokenCount,
    };
}
