using System.CommandLine;
using Brim.Cli.Commands;

namespace Brim.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Brim: an LLM inference server for .NET that keeps every batch slot busy")
        {
            ServeCommand.Create(),
            GenerateCommand.Create(),
            BenchCommand.Create(),
        };

        try
        {
            // No process-termination timeout: SIGTERM drains in-flight requests (the server bounds the drain itself).
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is Models.ModelLoadException or Tokenization.TokenizerLoadException or FileNotFoundException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"brim: {ex.Message}");
            return 2;
        }
    }
}
