namespace Brim.Server.Hosting;

/// <summary>
/// Finds `--model org/name` in the local Hugging Face hub cache, where `huggingface-cli download` / `hf download` put
/// it: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub; then models--org--name/snapshots/&lt;the commit
/// refs/main names, or the newest snapshot&gt;. Brim never downloads: a model that is not there is an error that says
/// where it looked.
/// </summary>
public static class HuggingFaceCache
{
    /// <summary>The path to load: <paramref name="model"/> itself when it exists, else its cache snapshot.</summary>
    /// <exception cref="FileNotFoundException">Neither a path nor a repository id found in the cache.</exception>
    public static string Resolve(string model, Func<string, string?>? environment = null)
    {
        if (File.Exists(model) || Directory.Exists(model))
        {
            return model;
        }

        if (!IsRepositoryId(model))
        {
            throw new FileNotFoundException($"model '{model}' not found: no such file or directory");
        }

        var hub = HubDirectory(environment ?? Environment.GetEnvironmentVariable);
        var repository = Path.Combine(hub, "models--" + model.Replace("/", "--", StringComparison.Ordinal));
        var snapshots = Path.Combine(repository, "snapshots");
        var main = Path.Combine(repository, "refs", "main");
        if (File.Exists(main) && Path.Combine(snapshots, File.ReadAllText(main).Trim()) is var pinned && Directory.Exists(pinned))
        {
            return pinned;
        }

        var newest = Directory.Exists(snapshots)
            ? new DirectoryInfo(snapshots).EnumerateDirectories().OrderByDescending(d => d.LastWriteTimeUtc).FirstOrDefault()
            : null;
        return newest?.FullName ?? throw new FileNotFoundException(
            $"model '{model}' is not a local path and not in the Hugging Face cache (looked in {repository}); "
            + $"Brim does not download models: fetch it first, e.g. `hf download {model}`, or pass a directory");
    }

    /// <summary>"org/name": one slash, no path-like parts (./x, /x, x/ are paths).</summary>
    public static bool IsRepositoryId(string model) =>
        model.Count(c => c == '/') == 1 && !model.StartsWith('/') && !model.StartsWith('.') && !model.EndsWith('/') && !model.Contains('\\', StringComparison.Ordinal);

    public static string HubDirectory(Func<string, string?> environment)
    {
        if (environment("HF_HUB_CACHE") is { Length: > 0 } hubCache)
        {
            return hubCache;
        }

        var home = environment("HF_HOME") is { Length: > 0 } hfHome
            ? hfHome
            : Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface");
        return Path.Combine(home, "hub");
    }
}
