using Brim.Tests;

namespace Brim.Cli.Tests;

/// <summary>`--quantization` through the real command line on the bundled model (dimensions 64 and 172: int4 groups are whole rows).</summary>
[Collection(ConsoleCollection.Name)]
public class QuantizationOptionTests
{
    /// <summary>What the unquantized and every quantized run of the bundled model share, greedy from "Once upon a time".</summary>
    private const string SharedOpening = "Once upon a time, there was a little girl named Lily. She loved to play ";

    [Theory]
    [InlineData("int4")]
    [InlineData("int8")]
    [InlineData("fp8")]
    public async Task Generate_QuantizedOnLoad_TextStaysCloseToUnquantized(string format)
    {
        var (plainCode, plain, _) = await CommandLine.RunAsync("generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--device", "cpu");
        var (code, output, error) = await CommandLine.RunAsync(
            "generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--device", "cpu", "--quantization", format, "--stats");

        Assert.Equal(0, plainCode);
        Assert.Equal(0, code);

        // The drift bound: quantization may change the story after the opening, never the opening itself.
        Assert.StartsWith(SharedOpening, plain, StringComparison.Ordinal);
        Assert.StartsWith(SharedOpening, output, StringComparison.Ordinal);
        Assert.True(output.Length > SharedOpening.Length + 20, output);
        Assert.Contains($"weights {format}", error, StringComparison.Ordinal);
        Assert.Contains("quantized on load: ", error, StringComparison.Ordinal);
        Assert.Contains("MB float32 on the host (dequantized on load)", error, StringComparison.Ordinal);
    }

    /// <summary>A tiny random checkpoint written packed (vocabulary 512, so the bundled tokenizer fits it).</summary>
    [Theory]
    [InlineData(PackedFormat.Awq, "weights awq int4 g16")]
    [InlineData(PackedFormat.Gptq4, "weights gptq int4 g16")]
    [InlineData(PackedFormat.Fp8PerTensor, "weights fp8 e4m3 (dynamic activations)")]
    public async Task Generate_QuantizedCheckpointOnCpu_RunsAndNamesTheFormat(PackedFormat format, string note)
    {
        var directory = Directory.CreateTempSubdirectory("brim-cli-quantized-").FullName;
        try
        {
            QuantizedCheckpoints.Write(directory, format);
            var tokenizer = Path.Combine(RepoPaths.BundledModel, "tok512.bin");

            var (code, output, error) = await CommandLine.RunAsync(
                "generate", "Once upon a time", "-t", "0", "-n", "8", "--model", directory, "--tokenizer", tokenizer, "--device", "cpu", "--stats");

            Assert.Equal(0, code);
            Assert.StartsWith("Once upon a time", output, StringComparison.Ordinal);
            Assert.Contains(note, error, StringComparison.Ordinal);
            Assert.Contains("float32 on the host (dequantized on load)", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Generate_UnknownQuantization_UsageErrorNamingTheChoices()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cpu", "--quantization", "fp4");

        Assert.Equal(2, code);
        Assert.Contains("--quantization must be one of none, fp8, int8, int4; got 'fp4'", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The bundled model's feed-forward width (172) is no multiple of the int4 kernels' 32-input chunks: on a GPU the
    /// layout is refused naming the width (exit code 1); without one, the missing device is (exit code 2, as for any
    /// --device cuda without a GPU). One line either way.
    /// </summary>
    [Fact]
    public async Task Generate_Int4OnCudaWithAnUnfitShape_OneLineError()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cuda", "--quantization", "int4");

        Assert.True(code is 1 or 2, $"exit code {code}");
        Assert.True(
            error.Contains("int4 weights on CUDA need input widths that are multiples of 32", StringComparison.Ordinal)
            || error.Contains("--device cuda: ", StringComparison.Ordinal),
            error);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
