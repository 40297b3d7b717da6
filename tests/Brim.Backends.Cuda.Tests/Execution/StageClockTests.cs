using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// The stage clock (bench-stages' instrument) times without changing what a step computes: steps it times run eagerly
/// and give the logits graph replays give, every stage a decode step has gets time, and a stage the step skips (device
/// sampling, when the logits go to the host) gets none.
/// </summary>
public class StageClockTests
{
    [Fact]
    public void TimedSteps_SameLogits_EveryStageOfTheStepTimed()
    {
        Gpu.Require();
        var config = RandomModels.Llama3Like();
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        using var timed = new CudaBackend(config, weights);
        using var plain = new CudaBackend(config, weights);
        timed.TimeStages = true;

        const int sequences = 8, steps = 3;
        var want = BackendSteps.Decode(plain, sequences, steps);
        var got = BackendSteps.Decode(timed, sequences, steps);
        for (var step = 0; step < steps; step++)
        {
            Compare.Close(got[step], want[step], 1e-5, $"decode step {step}, timed eagerly against graph replay (seed {seed})");
        }

        var clock = timed.StageClock!;
        Assert.Equal(steps, clock.Steps);
        Assert.Equal(0, timed.CapturedGraphs);
        foreach (var stage in Enum.GetValues<StepStage>().Where(s => s != StepStage.Sampling))
        {
            Assert.True(clock.MillisecondsPerStep(stage) > 0, $"{stage} got no time");
        }

        Assert.Equal(0, clock.MillisecondsPerStep(StepStage.Sampling));
        timed.TimeStages = false;
        Assert.Null(timed.StageClock);
    }
}
