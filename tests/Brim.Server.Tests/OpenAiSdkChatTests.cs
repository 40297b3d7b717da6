using System.ClientModel;
using System.Text;
using Brim.ChatTemplates;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Brim.Server.Tests;

/// <summary>The official OpenAI .NET SDK, unchanged, against a real Brim server: chat, streaming, usage, stops, seeds, logprobs.</summary>
public class OpenAiSdkChatTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly ChatMessage[] Conversation = [new SystemChatMessage("You tell stories."), new UserChatMessage("Once upon a time")];

    private ChatClient Chat => fixture.CreateOpenAIClient().GetChatClient(ServerFixture.ModelName);

    [Fact]
    public async Task CompleteChat_Greedy_ReturnsTextUsageAndLengthFinish()
    {
        var completion = (await Chat.CompleteChatAsync(Conversation, Greedy(24))).Value;

        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(ServerFixture.ModelName, completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(24, completion.Usage.OutputTokenCount);
        Assert.Equal(ExpectedPromptTokens(), completion.Usage.InputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + 24, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task CompleteChatStreaming_Greedy_SameTextAsNonStreamingAndFinalUsage()
    {
        var whole = (await Chat.CompleteChatAsync(Conversation, Greedy(40))).Value;

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in Chat.CompleteChatStreamingAsync(Conversation, Greedy(40)))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage; // the SDK asks for stream_options.include_usage
        }

        Assert.True(updates > 10, $"expected a token-by-token stream, got {updates} updates");
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(40, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task CompleteChat_StopSequence_EndsBeforeItWithStopFinish()
    {
        var free = (await Chat.CompleteChatAsync(Conversation, Greedy(60))).Value.Content[0].Text;
        var words = free.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 6, $"the model should write a few words: '{free}'");
        var stop = " " + words[4];

        var options = Greedy(60);
        options.StopSequences.Add(stop);
        var stopped = (await Chat.CompleteChatAsync(Conversation, options)).Value;

        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
    }

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK
    [Fact]
    public async Task CompleteChat_SameSeed_SameText_DifferentSeed_DifferentText()
    {
        async Task<string> Sample(long seed)
        {
            var options = new ChatCompletionOptions { Temperature = 1f, MaxOutputTokenCount = 48, Seed = seed };
            return (await Chat.CompleteChatAsync(Conversation, options)).Value.Content[0].Text;
        }

        var first = await Sample(1234);
        Assert.Equal(first, await Sample(1234));
        Assert.NotEqual(first, await Sample(4321));
    }
#pragma warning restore OPENAI001

    [Fact]
    public async Task CompleteChat_Logprobs_OnePerTokenWithTopAlternatives()
    {
        var options = Greedy(12);
        options.IncludeLogProbabilities = true;
        options.TopLogProbabilityCount = 3;
        var completion = (await Chat.CompleteChatAsync(Conversation, options)).Value;

        var logprobs = completion.ContentTokenLogProbabilities;
        Assert.Equal(12, logprobs.Count);
        Assert.Equal(completion.Content[0].Text.TrimStart(), string.Concat(logprobs.Select(l => l.Token)).TrimStart());
        foreach (var token in logprobs)
        {
            Assert.True(token.LogProbability <= 0);
            Assert.Equal(3, token.TopLogProbabilities.Count);
            // Greedy picks the most likely token, so it is the first alternative.
            Assert.Equal(token.Token, token.TopLogProbabilities[0].Token);
            Assert.Equal(token.LogProbability, token.TopLogProbabilities[0].LogProbability, 4);
            Assert.True(token.TopLogProbabilities[1].LogProbability <= token.TopLogProbabilities[0].LogProbability);
        }
    }

    [Fact]
    public async Task GetModels_ListsTheServedModel()
    {
        var models = (await fixture.CreateOpenAIClient().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([ServerFixture.ModelName], models.Select(m => m.Id));
    }

    [Fact]
    public async Task CompleteChat_UnknownModel_ThrowsWith404()
    {
        var client = fixture.CreateOpenAIClient().GetChatClient("gpt-4o");
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Conversation, Greedy(4)));
        Assert.Equal(404, error.Status);
        Assert.Contains("gpt-4o", error.Message, StringComparison.Ordinal);
    }

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0f, MaxOutputTokenCount = maxTokens };

    /// <summary>The stories260K model has no chat template, so Brim uses the documented plain format plus BOS.</summary>
    private int ExpectedPromptTokens()
    {
        var text = ChatTemplate.Plain.Render(
            [Brim.ChatTemplates.ChatMessage.System("You tell stories."), Brim.ChatTemplates.ChatMessage.User("Once upon a time")], addGenerationPrompt: true);
        Assert.Equal("System: You tell stories.\n\nUser: Once upon a time\n\nAssistant:", text);
        return fixture.Host.Tokenizer.Encode(text).Length;
    }
}
