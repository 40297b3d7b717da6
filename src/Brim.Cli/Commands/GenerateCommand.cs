using System.CommandLine;
using Brim.ChatTemplates;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>`brim generate PROMPT`: streams one completion to stdout.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var prompt = new Argument<string>("prompt") { Description = "The text to continue", DefaultValueFactory = _ => "Once upon a time" };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "Tokens to generate at most", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature", "-t") { Description = "0 is greedy", DefaultValueFactory = _ => 0.8f };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => 0.95f };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 0 };
        var minP = new Option<float>("--min-p") { DefaultValueFactory = _ => 0f };
        var seed = new Option<long?>("--seed") { Description = "Same seed, same text" };
        var stop = new Option<string[]>("--stop") { Description = "Stop strings", AllowMultipleArgumentsPerToken = false };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user message in the model's chat template" };
        var stats = new Option<bool>("--stats") { Description = "Print tokens/s to stderr at the end" };

        var command = new Command("generate", "Generate text from a prompt and stream it to stdout") { prompt, maxTokens, temperature, topP, topK, minP, seed, stop, chat, stats };
        model.AddTo(command);
        SamplingParams Sampling(ParseResult result) => new()
        {
            MaxTokens = result.GetValue(maxTokens),
            Temperature = result.GetValue(temperature),
            TopP = result.GetValue(topP),
            TopK = result.GetValue(topK),
            MinP = result.GetValue(minP),
            Seed = result.GetValue(seed),
            Stop = result.GetValue(stop) ?? [],
        };

        command.SetAction(async (result, cancellationToken) =>
        {
            // SamplingParams owns the ranges; checking them first refuses --temperature 3 as a usage error before the model loads.
            var sampling = Sampling(result);
            if (SamplingOptionCheck.Problem(sampling) is { } problem)
            {
                await Console.Error.WriteLineAsync($"brim: {problem}");
                return 2;
            }

            using var host = ModelHost.Load(model.Read(result));
            foreach (var warning in host.Warnings)
            {
                await Console.Error.WriteLineAsync($"brim: warning: {warning}");
            }

            var text = result.GetValue(prompt)!;
            int[] promptTokens = result.GetValue(chat)
                ? host.Tokenizer.Encode(host.ChatTemplate.Render([ChatMessage.User(text)], addGenerationPrompt: true), addSpecialTokens: false)
                : host.Tokenizer.Encode(text);
            host.Engine.Start();
            if (!result.GetValue(chat))
            {
                Console.Write(text);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var generated = 0;
            await foreach (var update in host.Engine.GenerateAsync(
                new GenerationRequest { Id = new RequestId("generate"), PromptTokens = promptTokens, Sampling = sampling }, cancellationToken))
            {
                Console.Write(update.TextDelta);
                generated = update.CompletionTokenCount;
                if (update.FinishReason == FinishReason.Error)
                {
                    await Console.Error.WriteLineAsync($"\nbrim: {update.Error}");
                    return 1;
                }
            }

            Console.WriteLine();
            if (result.GetValue(stats))
            {
                var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
                await Console.Error.WriteLineAsync($"{generated} tokens in {seconds:F2} s ({generated / seconds:F1} tokens/s) on {host.DeviceNote}; {host.WeightsNote}");
            }

            return 0;
        });
        return command;
    }
}
