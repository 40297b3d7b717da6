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

    private ModelHost(LoadedModel model, IModelBackend backend, ITokenizer tokenizer, ChatTemplate chatTemplate, LlmEngine engine, string servedName, string deviceNote)
    {
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

    /// <summary>Which device was chosen and, for auto, why.</summary>
    public string DeviceNote { get; }

    /// <summary>The KV cache's size in GiB and tokens, for the startup line ("0.02 GiB, 32768 tokens (2048 blocks × 16)").</summary>
    public string KvCacheNote
    {
        get
        {
            var blocks = Engine.TotalKvBlocks;
            var size = Engine.Options.BlockSize;
            var gib = blocks * (double)_backend.KvBytesPerBlock(size) / (1L << 30);
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{gib:F2} GiB, {(long)blocks * size} tokens ({blocks} blocks × {size})");
        }
    }

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
            LlmEngine engine;
            try
            {
                var engineOptions = options.Engine;
                if (backend is CpuBackend && engineOptions.NumKvBlocks is null)
                {
                    engineOptions = engineOptions with { NumKvBlocks = CpuKvCacheSize.Blocks(backend, model.Config, engineOptions, options.KvCacheSpaceBytes) };
                }

                engine = new LlmEngine(backend, tokenizer, engineOptions, model.Config.MaxPositions);
            }
            catch
            {
                backend.Dispose();
                throw;
            }

            var name = options.ServedModelName ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
            return new ModelHost(model, backend, tokenizer, template, engine, name, note);
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
