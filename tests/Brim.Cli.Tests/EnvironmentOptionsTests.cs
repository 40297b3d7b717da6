namespace Brim.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class EnvironmentOptionsTests
{
    private static readonly Dictionary<string, string> Variables = new()
    {
        ["BRIM_MODEL"] = "/models/x",
        ["BRIM_PORT"] = "9000",
        ["BRIM_API_KEY"] = "secret",
    };

    [Fact]
    public void Apply_ServeWithoutFlags_TakesTheVariables()
    {
        var (args, used) = EnvironmentOptions.Apply(["serve"], Variables.GetValueOrDefault);

        Assert.Equal(["serve", "--model", "/models/x", "--api-key", "secret", "--port", "9000"], args);
        Assert.Equal(["BRIM_MODEL", "BRIM_API_KEY", "BRIM_PORT"], used);
    }

    [Fact]
    public void Apply_FlagGiven_FlagWins()
    {
        var (args, _) = EnvironmentOptions.Apply(["serve", "-p", "8001", "--model=/m"], Variables.GetValueOrDefault);

        Assert.Equal(["serve", "-p", "8001", "--model=/m", "--api-key", "secret"], args);
    }

    [Fact]
    public void Apply_Generate_TakesOnlyTheModelOptions()
    {
        var (args, _) = EnvironmentOptions.Apply(["generate", "hi"], Variables.GetValueOrDefault);

        Assert.Equal(["generate", "hi", "--model", "/models/x"], args);
    }

    [Fact]
    public async Task Run_BadPortFromTheEnvironment_NamesTheOptionAndTheVariable()
    {
        Environment.SetEnvironmentVariable("BRIM_PORT", "eighty");
        try
        {
            var (code, _, error) = await CommandLine.RunAsync("serve");

            Assert.Equal(2, code);
            Assert.Contains("--port must be a TCP port", error, StringComparison.Ordinal);
            Assert.Contains("BRIM_PORT", error, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BRIM_PORT", null);
        }
    }
}
