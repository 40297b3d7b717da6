namespace Brim.Cli.Tests;

/// <summary>
/// Runs the `brim` command line in-process, as a user runs it, with the console captured. Console output is
/// process-wide, so every test class that uses this belongs to the <see cref="ConsoleCollection"/> (never in parallel).
/// </summary>
internal static class CommandLine
{
    public static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    /// <summary>Cancelling <paramref name="stop"/> stops a long-running command (serve) as Ctrl+C does.</summary>
    public static async Task<(int Code, string Output, string Error)> RunAsync(CancellationToken stop, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var (oldOut, oldError) = (Console.Out, Console.Error);

        // SetOut wraps the writers in synchronized ones, so a server's threads may write while the command runs.
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var code = await Program.RunAsync(args, stop);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}

/// <summary>The test classes that capture the console, run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
