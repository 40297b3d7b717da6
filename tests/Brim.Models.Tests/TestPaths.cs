namespace Brim.Models.Tests;

/// <summary>Files copied next to the test assembly (see the .csproj), so tests need nothing outside the repository.</summary>
internal static class TestPaths
{
    public static string Stories260KDirectory => Path.Combine(AppContext.BaseDirectory, "Models", "stories260K");

    public static string Stories260K => Path.Combine(Stories260KDirectory, "stories260K.bin");

    public static string Fixture(string model) => Path.Combine(AppContext.BaseDirectory, "Fixtures", model);
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "brim-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
