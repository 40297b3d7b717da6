namespace Brim.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("brim: commands are being built");
        return args.Length == 0 ? 0 : 1;
    }
}
