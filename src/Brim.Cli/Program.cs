using System.CommandLine;
using Brim.Cli.Commands;

namespace Brim.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, CancellationToken.None);

    /// <summary>Runs one command line; cancelling the token stops a long-running command (serve) as Ctrl+C does.</summary>
    internal static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var root = new RootCommand("Brim: an LLM inference server for .NET that keeps every batch slot busy")
        {
            ServeCommand.Create(),
            GenerateCommand.Create(),
            BenchCommand.Create(),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // A usage error: say what is wrong and exit 2 (as argparse-based servers do), before anything is loaded.
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"brim: {error.Message}");
            }

            await Console.Error.WriteLineAsync($"Run '{string.Join(' ', CommandPath(parsed.CommandResult))} --help' for the options.");
            return 2;
        }

        try
        {
            // No process-termination timeout: SIGTERM drains in-flight requests (the server bounds the drain itself).
            return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (Exception ex) when (ex is Models.ModelLoadException or Tokenization.TokenizerLoadException or FileNotFoundException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"brim: {ex.Message}");
            return 2;
        }
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.SymbolResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent)
        {
            if (r is System.CommandLine.Parsing.CommandResult c)
            {
                names.Push(c.Command is RootCommand ? "brim" : c.Command.Name);
            }
        }

        return names;
    }
}
