using Brim.Backends.Cpu;
using Brim.ChatTemplates;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Server.Hosting;

/// <summary>
/// A loaded model ready to serve: weights on a backend, tokenizer, chat template and the engine. The one place that
/// wires these together, for the server, the CLI and in-process use.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly LoadedModel _model;
    private readonly IModelBackend _backend;
    private int _engineStarted;

    private ModelHost(
        LoadedModel model, IModelBackend backend, ITokenizer tokenizer, ChatTemplate chatTemplate, LlmEngine engine, string servedName, string modelAsGiven, string deviceNote)
    {
        ModelAsGiven = modelAsGiven;
        _model = model;
        _backend = backend;
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        Engine = engine;
        ServedModelName = servedName;
        DeviceNote = deviceNote;
    }

    public LlmEngine Engine { get; }

    /// <summary>The backend under the engine (for device-specific reporting such as measured ceilings).</summary>
    public IModelBackend Backend => _backend;

    public ITokenizer Tokenizer { get; }

    public ChatTemplate ChatTemplate { get; }

    public ModelConfig Config => _model.Config;

    public string ServedModelName { get; }

    public string ModelPath => _model.Path;

    /// <summary>
    /// The model as the user named it (the --model argument, unresolved), or the served name for the bundled model:
    /// what /v1/models reports as <c>root</c>, as vLLM does, rather than where on this machine the files are.
    /// </summary>
    public string ModelAsGiven { get; }

    /// <summary>Which device was chosen and, for auto, why.</summary>
    public string DeviceNote { get; }

    /// <summary>Starts the engine's step loop unless it already runs (the server and in-process clients share it).</summary>
    public void StartEngine()
    {
        if (Interlocked.Exchange(ref _engineStarted, 1) == 0)
        {
            Engine.Start();
        }
    }

    public static ModelHost Load(ModelHostOptions options)
    {
        var path = options.ModelPath ?? ModelHostOptions.BundledModelPath();
        var model = ModelLoader.Load(path, options.LoadFormat, options.DummySeed);
        try
        {
            var tokenizer = LoadTokenizer(options, path, model.Config);
            var template = LoadChatTemplate(options.TokenizerPath ?? path);
            var (backend, note) = BackendFactory.Create(model, options);
            // The prefix cache's root key names the weights, so blocks of one model can never answer for another.
            var engineOptions = options.Engine.PrefixCacheKey.Length > 0
                ? options.Engine
                : options.Engine with { PrefixCacheKey = $"{Path.GetFullPath(path)}|{options.LoadFormat}|{options.DummySeed}" };
            var engine = new LlmEngine(backend, tokenizer, engineOptions, model.Config.MaxPositions);
            var name = options.ServedModelName ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
            return new ModelHost(model, backend, tokenizer, template, engine, name, options.ModelPath ?? name, note);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static ITokenizer LoadTokenizer(ModelHostOptions options, string path, ModelConfig config)
    {
        try
        {
            return TokenizerLoader.Load(options.TokenizerPath ?? path);
        }
        catch (TokenizerLoadException) when (options.LoadFormat == LoadFormat.Dummy && options.TokenizerPath is null)
        {
            // A shape-only benchmark model: no tokenizer files, so tokens are numbered.
            return new NumberedTokenizer(config.VocabSize, config.BosTokenId, config.EosTokenIds);
        }
    }

    private static ChatTemplate LoadChatTemplate(string path)
    {
        var dir = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var config = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(config))
        {
            try
            {
                return ChatTemplate.FromTokenizerConfig(config);
            }
            catch (ChatTemplateException)
            {
                // A config without a chat_template: fall back to the documented plain format.
            }
        }

        return ChatTemplate.Plain;
    }

    public void Dispose()
    {
        Engine.Dispose();
        _backend.Dispose();
        _model.Dispose();
    }
}
