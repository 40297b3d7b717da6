using System.Diagnostics;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.TensorParallel;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// What tensor parallelism's collectives cost a decode step: every rank's two all-reduces a layer (after o_proj and
/// down_proj) of [batch, hidden] bf16, replayed from a CUDA graph per rank as decode steps replay them, all ranks at
/// once, for 2, 4 and 8 ranks (as many as the machine has) at the Llama-3.1-8B (32 layers, hidden 4,096) and 70B (80
/// layers, hidden 8,192) shapes. Bus bandwidth as nccl-tests reports it: 2 (N − 1) / N × bytes / time.
/// </summary>
internal static class AllReduceBench
{
    private static readonly (string Name, int Layers, int Hidden)[] Shapes = [("8B", 32, 4096), ("70B", 80, 8192)];
    private static readonly int[] Batches = [1, 8, 32, 64, 128, 256];
    private const int Repeats = 20;

    public static int Run(TextWriter log)
    {
        if (!NcclGroup.IsAvailable(out var reason))
        {
            log.WriteLine($"no NCCL: {reason}");
            return 1;
        }

        var devices = CudaDevice.Count();
        log.WriteLine($"# all-reduce per decode step, {devices} GPU(s)");
        log.WriteLine("| ranks | shape | batch | all-reduces a step | µs a step | µs an all-reduce | bus GB/s |");
        log.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var ranks in new[] { 2, 4, 8 }.Where(n => n <= devices))
        {
            Measure(log, ranks);
        }

        if (devices < 2)
        {
            log.WriteLine("(one GPU: nothing to reduce across)");
        }

        return 0;
    }

    private static void Measure(TextWriter log, int ranks)
    {
        var opened = Enumerable.Range(0, ranks).Select(CudaDevice.Open).ToArray();
        var streams = opened.Select(d => { d.MakeCurrent(); return new CudaStream(d); }).ToArray();
        var largest = Shapes.Max(s => (long)Batches[^1] * s.Hidden * 2);
        var buffers = opened.Select(d => KernelBench.Filled(d, streams[d.Ordinal], largest)).ToArray();
        using var group = NcclGroup.Create([.. Enumerable.Range(0, ranks)]);
        using var threads = new RankThreads(ranks);
        try
        {
            foreach (var (name, layers, hidden) in Shapes)
            {
                foreach (var batch in Batches)
                {
                    var count = (long)batch * hidden;
                    var graphs = new CudaGraph[ranks];
                    void Step(int r)
                    {
                        for (var i = 0; i < 2 * layers; i++)
                        {
                            group.AllReduceSum(r, streams[r], buffers[r].Pointer, count, NcclElement.Bfloat16);
                        }
                    }

                    threads.Run(r =>
                    {
                        opened[r].MakeCurrent();
                        Step(r); // eagerly once: NCCL sets up its channels outside the capture
                        streams[r].Synchronize();
                        graphs[r] = CudaGraph.Capture(opened[r], streams[r], () => Step(r));
                    });
                    threads.Run(r => { graphs[r].Launch(streams[r]); streams[r].Synchronize(); }); // warm-up
                    var clock = Stopwatch.StartNew();
                    threads.Run(r =>
                    {
                        for (var i = 0; i < Repeats; i++)
                        {
                            graphs[r].Launch(streams[r]);
                        }

                        streams[r].Synchronize();
                    });
                    var stepUs = clock.Elapsed.TotalMicroseconds / Repeats;
                    var perUs = stepUs / (2 * layers);
                    var busGBps = 2.0 * (ranks - 1) / ranks * count * 2 / (perUs * 1e3);
                    log.WriteLine($"| {ranks} | {name} | {batch} | {2 * layers} | {stepUs:F0} | {perUs:F1} | {busGBps:F0} |");
                    threads.Run(r => graphs[r].Dispose());
                }
            }
        }
        finally
        {
            for (var r = 0; r < ranks; r++)
            {
                opened[r].MakeCurrent();
                buffers[r].Dispose();
                streams[r].Dispose();
                opened[r].Dispose();
            }
        }
    }
}
