using System.Text;
using Brim.Server.Chat;
using Microsoft.Extensions.AI;

namespace Brim.Server.Tests;

/// <summary>The in-process IChatClient answers exactly what the HTTP server answers for the same conversation.</summary>
public class BrimChatClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly ChatMessage[] Conversation = [new(ChatRole.System, "You tell stories."), new(ChatRole.User, "Once upon a time")];

    [Fact]
    public async Task GetResponseAsync_Greedy_SameTextAndUsageAsTheHttpServer()
    {
        using IChatClient client = new BrimChatClient(fixture.Host);
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0f, MaxOutputTokens = 30 });

        var (status, http) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", new
        {
            messages = new[] { new { role = "system", content = "You tell stories." }, new { role = "user", content = "Once upon a time" } },
            temperature = 0, max_tokens = 30,
        });
        Assert.Equal(200, status);
        Assert.Equal((string?)http!["choices"]![0]!["message"]!["content"], response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(30, response.Usage!.OutputTokenCount);
        Assert.Equal((int)http["usage"]!["prompt_tokens"]!, response.Usage.InputTokenCount);
        Assert.Equal(ServerFixture.ModelName, client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task GetResponseAsync_ToolsOrJsonFormat_ThrowsNotSupported()
    {
        using IChatClient client = new BrimChatClient(fixture.Host);
        var tool = AIFunctionFactory.Create(() => 42, "answer");

        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Conversation, new ChatOptions { Tools = [tool], MaxOutputTokens = 2 }));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Json, MaxOutputTokens = 2 }));
        var text = await client.GetResponseAsync(Conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Text, Tools = [], MaxOutputTokens = 2 });
        Assert.Equal(2, text.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Greedy_ConcatenatesToTheNonStreamingText()
    {
        using IChatClient client = new BrimChatClient(fixture.Host);
        var options = new ChatOptions { Temperature = 0f, MaxOutputTokens = 30, StopSequences = ["zzz-never"] };
        var whole = await client.GetResponseAsync(Conversation, options);

        var text = new StringBuilder();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Conversation, options))
        {
            text.Append(update.Text);
            updates.Add(update);
        }

        Assert.True(updates.Count > 10);
        Assert.Equal(whole.Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal(30, updates[^1].Contents.OfType<UsageContent>().Single().Details.OutputTokenCount);
    }

    [Fact]
    public async Task GetResponseAsync_ImageContent_IsRefusedClearly()
    {
        using IChatClient client = new BrimChatClient(fixture.Host);
        var message = new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "image/png")]);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([message]));
        Assert.Contains("DataContent", error.Message, StringComparison.Ordinal);
    }
}
