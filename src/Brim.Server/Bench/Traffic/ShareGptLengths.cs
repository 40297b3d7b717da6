namespace Brim.Server.Bench.Traffic;

/// <summary>
/// Prompt and output lengths shaped like ShareGPT conversations (the dataset vLLM's serving benchmark replays), drawn from
/// log-normal fits instead of downloading it. Published summaries of ShareGPT-derived serving workloads put the mean
/// prompt near 200–250 tokens and the mean output near 200 tokens, with medians well below the means and tails to
/// thousands of tokens (a few pasted documents, a few long answers): a log-normal is the usual fit of such right-skewed
/// counts. Parameters: prompt mean 220, σ 1.0 (median ≈ 133, p99 ≈ 1,360); output mean 200, σ 0.9 (median ≈ 133,
/// p99 ≈ 1,080); μ = ln(mean) − σ²/2 so the mean is as stated. Lengths are at least one token and clipped to the
/// model's context (prompt first, the output gets what is left), which lowers the means on small-context models.
/// </summary>
public sealed class ShareGptLengths(Random random, int maxModelLength, double scale = 1)
{
    public const double PromptMean = 220, PromptSigma = 1.0, OutputMean = 200, OutputSigma = 0.9;

    /// <summary>One request's (prompt, output) lengths.</summary>
    public (int Prompt, int Output) Next()
    {
        var prompt = Draw(PromptMean * scale, PromptSigma);
        var output = Draw(OutputMean * scale, OutputSigma);
        prompt = Math.Min(prompt, maxModelLength - 1);
        output = Math.Min(output, maxModelLength - prompt);
        return (prompt, output);
    }

    private int Draw(double mean, double sigma)
    {
        var mu = Math.Log(mean) - (sigma * sigma / 2);
        var value = Math.Exp(mu + (sigma * StandardNormal()));
        return (int)Math.Clamp(Math.Round(value), 1, int.MaxValue / 2);
    }

    /// <summary>Box–Muller: two uniforms to one standard normal (the other is dropped; simplicity over speed).</summary>
    private double StandardNormal()
    {
        var u1 = 1 - random.NextDouble(); // (0, 1]: no log(0)
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
