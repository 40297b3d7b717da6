using System.CommandLine;
using Brim.Cli.Commands;

namespace Brim.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Brim: an LLM inference server for .NET that keeps every batch slot busy")
        {
            GenerateCommand.Create(),
            BenchCommand.Create(),
        };

        try
        {
            return await root.Parse(args).InvokeAsync();
        }
        catch (Exception ex) when (ex is Models.ModelLoadException or Tokenization.TokenizerLoadException or FileNotFoundException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"brim: {ex.Message}");
            return 2;
        }
    }
}
