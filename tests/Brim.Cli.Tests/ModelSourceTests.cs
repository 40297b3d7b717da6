using Brim.ChatTemplates;
using Brim.Core;
using Brim.Server.Hosting;
using Brim.Tests;

namespace Brim.Cli.Tests;

/// <summary>
/// Where a model comes from: a path, or org/name in the local Hugging Face cache (never downloaded); its tokenizer
/// (required unless --tokenizer says where); its chat template (--chat-template, or the model's own, which must parse).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ModelSourceTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("brim-model-source-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public void Resolve_RepositoryIdInTheHubCache_TakesTheSnapshotRefsMainNames()
    {
        var repository = Path.Combine(_temp.FullName, "models--org--tiny");
        Directory.CreateDirectory(Path.Combine(repository, "snapshots", "old"));
        Directory.CreateDirectory(Path.Combine(repository, "snapshots", "abc123"));
        Directory.CreateDirectory(Path.Combine(repository, "refs"));
        File.WriteAllText(Path.Combine(repository, "refs", "main"), "abc123");

        var path = HuggingFaceCache.Resolve("org/tiny", name => name == "HF_HUB_CACHE" ? _temp.FullName : null);

        Assert.Equal(Path.Combine(repository, "snapshots", "abc123"), path);
    }

    [Fact]
    public void Resolve_HfHomeWithoutHubCache_LooksInItsHubFolder()
    {
        Assert.Equal(Path.Combine("/data/hf", "hub"), HuggingFaceCache.HubDirectory(name => name == "HF_HOME" ? "/data/hf" : null));
    }

    [Fact]
    public async Task Generate_RepositoryIdNotInTheCache_SaysBrimDoesNotDownloadAndWhereItLooked()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "hi", "--model", "no-such-org/no-such-model", "--device", "cpu");

        Assert.Equal(2, code);
        Assert.Contains("Brim does not download models", error, StringComparison.Ordinal);
        Assert.Contains("models--no-such-org--no-such-model", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_ModelWithoutTokenizer_RefusedNamingTokenizerOption()
    {
        var model = CopyBundledModel(withTokenizer: false);

        var (code, _, error) = await CommandLine.RunAsync("generate", "hi", "--model", model, "--device", "cpu", "--num-kv-blocks", "16");

        Assert.Equal(2, code);
        Assert.Contains("--tokenizer", error, StringComparison.Ordinal);

        var (withTokenizer, _, tokenizerError) = await CommandLine.RunAsync(
            "generate", "hi", "-n", "2", "--model", model, "--tokenizer", RepoPaths.BundledModel, "--device", "cpu", "--num-kv-blocks", "16");
        Assert.True(withTokenizer == 0, tokenizerError);
    }

    [Fact]
    public async Task Generate_ChatTemplateThatDoesNotParse_RefusedUnlessFallbackAllowed()
    {
        var model = CopyBundledModel(withTokenizer: true);
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), """{"chat_template": "{% for m in messages %}{{ m.content }"}""");

        var (code, _, error) = await CommandLine.RunAsync("generate", "hi", "--chat", "-n", "2", "--model", model, "--device", "cpu", "--num-kv-blocks", "16");
        Assert.Equal(2, code);
        Assert.Contains("does not parse", error, StringComparison.Ordinal);
        Assert.Contains("--allow-fallback-template", error, StringComparison.Ordinal);

        var (fallback, _, warning) = await CommandLine.RunAsync(
            "generate", "hi", "--chat", "-n", "2", "--model", model, "--device", "cpu", "--num-kv-blocks", "16", "--allow-fallback-template");
        Assert.True(fallback == 0, warning);
        Assert.Contains("brim: warning: the chat template", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ChatTemplateFile_RendersWithIt()
    {
        var template = Path.Combine(_temp.FullName, "template.jinja");
        File.WriteAllText(template, "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");

        using var host = ModelHost.Load(new ModelHostOptions { ChatTemplatePath = template, Device = DeviceKind.Cpu, Engine = new() { NumKvBlocks = 16 } });

        Assert.Equal("<user>hi", host.ChatTemplate.Render([ChatMessage.User("hi")], addGenerationPrompt: false));
    }

    private string CopyBundledModel(bool withTokenizer)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_temp.FullName, withTokenizer ? "with-tokenizer" : "no-tokenizer")).FullName;
        foreach (var file in Directory.GetFiles(RepoPaths.BundledModel))
        {
            var name = Path.GetFileName(file);
            if (name == "stories260K.bin" || (withTokenizer && name.StartsWith("tok", StringComparison.Ordinal)))
            {
                File.Copy(file, Path.Combine(dir, name));
            }
        }

        return dir;
    }
}
