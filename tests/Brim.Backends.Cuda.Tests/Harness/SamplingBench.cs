using System.Globalization;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Device sampling at the Llama-3.1-8B vocabulary: the radix kernel against the bisection kernel it replaced, for the
/// parameter sets clients send (greedy; temperature alone; top-p; top-k; all filters), at 1, 64 and 256 rows of logits
/// shaped like a model's (a Gaussian tail and a few dozen likely tokens). µs per launch, the logits' bytes over that
/// time, and how many rows the two kernels sampled alike (they should differ only where a row's draw sits on a boundary
/// within float rounding).
/// </summary>
internal static class SamplingBench
{
    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        using var kernel = new SamplingKernel(device, compiler);
        const int vocab = Llama8BShape.Vocab;
        log.WriteLine($"# device sampling, vocabulary {vocab}, on {device}");
        log.WriteLine("| rows | parameters | bisection (µs) | radix (µs) | speed-up | radix GB/s of logits | same token |");
        log.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        (string Name, float T, int K, float P, float MinP)[] settings =
        [
            ("greedy", 0f, 0, 1f, 0f), ("temperature 1", 1f, 0, 1f, 0f), ("top-p 0.95", 0.8f, 0, 0.95f, 0f), ("top-k 50", 0.7f, 50, 1f, 0f),
            ("top-k 50, top-p 0.95, min-p 0.05", 0.8f, 50, 0.95f, 0.05f),
        ];
        var random = new Random(3);
        foreach (var rows in new[] { 1, 64, 256 })
        {
            using var logits = new DeviceBuffer(device, (long)rows * vocab * 4);
            stream.Upload<float>(logits.Pointer, PeakedLogits(random, rows, vocab));
            using var parameters = new DeviceBuffer(device, rows * SamplingKernel.ParamsPerRow * 4L);
            using var tokens = new DeviceBuffer(device, rows * 4L);
            using var logprobs = new DeviceBuffer(device, rows * SamplingKernel.LogprobsPerRow * 4L);
            using var logprobIds = new DeviceBuffer(device, rows * SamplingKernel.LogprobsPerRow * 4L);
            foreach (var s in settings)
            {
                var p = new float[rows * SamplingKernel.ParamsPerRow];
                for (var r = 0; r < rows; r++)
                {
                    float[] row = [s.T, s.K, s.P, s.MinP, random.NextSingle(), -1];
                    row.CopyTo(p.AsSpan(r * SamplingKernel.ParamsPerRow));
                }

                stream.Upload<float>(parameters.Pointer, p);
                var ms = new double[2];
                var sampled = new int[2][];
                foreach (var radix in new[] { false, true })
                {
                    kernel.Radix = radix;
                    void Sample() => kernel.Sample(stream, logits.Pointer, vocab, parameters.Pointer, tokens.Pointer, logprobs.Pointer, logprobIds.Pointer, rows);
                    ms[radix ? 1 : 0] = Timing.MedianMs(device, stream, 2, 10, Sample);
                    Sample();
                    var host = new int[rows];
                    stream.Download<int>(tokens.Pointer, host);
                    sampled[radix ? 1 : 0] = host;
                }

                var same = sampled[0].Zip(sampled[1]).Count(t => t.First == t.Second);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {rows} | {s.Name} | {ms[0] * 1e3:F1} | {ms[1] * 1e3:F1} | {ms[0] / ms[1]:F1}x | {rows * vocab * 4.0 / (ms[1] * 1e6):F0} | {same} of {rows} |"));
                log.Flush();
            }
        }

        return 0;
    }

    private static float[] PeakedLogits(Random random, int rows, int vocab)
    {
        var logits = new float[rows * vocab];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < vocab; i++)
            {
                var u = 1 - random.NextDouble();
                logits[(r * vocab) + i] = (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble()) * 2);
            }

            for (var j = 0; j < 40; j++)
            {
                logits[(r * vocab) + random.Next(vocab)] = 8 + (float)(random.NextDouble() * 10);
            }
        }

        return logits;
    }
}
