namespace Brim.Backends.Cuda.Tests;

public static class Program
{
    public static int Main(string[] args)
    {
        return Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
    }
}
