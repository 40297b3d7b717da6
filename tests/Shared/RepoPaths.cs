namespace Brim.Tests;

/// <summary>
/// Paths in the repository, found from the test binaries. One file linked into every test project that needs it
/// (<c>&lt;Compile Include="../Shared/RepoPaths.cs" /&gt;</c>), so each project has its own internal copy.
/// </summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    /// <summary>The repository root: the nearest directory above the test output that holds Brim.slnx.</summary>
    public static string Root => RootDirectory.Value;

    /// <summary>The bundled stories260K model (checkpoint and tokenizer).</summary>
    public static string BundledModel => Path.Combine(Root, "models", "stories260K");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Brim.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Brim.slnx not found above " + AppContext.BaseDirectory);
    }
}
