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

        var (withEnvironment, fromEnvironment) = EnvironmentOptions.Apply(args, Environment.GetEnvironmentVariable);
        var parsed = root.Parse(withEnvironment);
        if (parsed.Errors.Count > 0)
        {
            if (fromEnvironment.Count > 0)
            {
                await Console.Error.WriteLineAsync($"brim: (options taken from the environment: {string.Join(", ", fromEnvironment)})");
            }

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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
#pragma warning disable CA1031 // a user sees one line, never a stack trace; BRIM_DEBUG=1 shows it to whoever debugs
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Console.Error.WriteLineAsync($"brim: {OneLine(ex)}");
            if (Environment.GetEnvironmentVariable("BRIM_DEBUG") is "1" or "true")
            {
                await Console.Error.WriteLineAsync(ex.ToString());
            }

            return 1;
        }
    }

    /// <summary>The innermost useful message on one line (Kestrel wraps its bind failure, tasks wrap everything).</summary>
    private static string OneLine(Exception ex)
    {
        while (ex is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        var message = ex is ArgumentException { ParamName: { } name } a ? a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
        return message.ReplaceLineEndings(" ");
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
