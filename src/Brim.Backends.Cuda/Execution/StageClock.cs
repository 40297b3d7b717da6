using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Execution;

/// <summary>The parts of a forward step a <see cref="StageClock"/> times (the layer stages summed over the layers).</summary>
internal enum StepStage
{
    Embedding,
    InputNorm,
    Qkv,
    Rope,
    Attention,
    Output,
    PostAttentionNorm,
    GateUp,
    Down,
    FinalNorm,
    LmHead,
    Sampling,
}

/// <summary>
/// Where a forward step's GPU time goes: a timing event recorded on the stream after each stage of an eager step, and the
/// time between consecutive events added to that stage. A profiling instrument for the harness (bench-stages), not for
/// serving: events between kernels cost a little each and keep a kernel from starting early under programmatic launch,
/// so the stages sum to somewhat more than the step takes without them (the harness prints both). Steps it times never
/// replay a CUDA graph or split into lanes (<see cref="CudaBackend"/> runs them eagerly on one stream). Not thread-safe.
/// </summary>
internal sealed class StageClock : IDisposable
{
    private readonly CudaDevice _device;
    private readonly List<CudaEvent> _events = [];
    private readonly List<StepStage> _stages = [];
    private readonly double[] _milliseconds = new double[Enum.GetValues<StepStage>().Length];
    private int _recorded;

    public StageClock(CudaDevice device) => _device = device;

    /// <summary>Steps collected so far.</summary>
    public int Steps { get; private set; }

    /// <summary>Starts a step: the event every first stage is measured from.</summary>
    public void Begin(CudaStream stream)
    {
        if (_recorded != 0)
        {
            throw new InvalidOperationException("the previous step was not collected");
        }

        NextEvent().Record(stream);
    }

    /// <summary>Ends <paramref name="stage"/>: the time since the previous mark (or <see cref="Begin"/>) is its.</summary>
    public void Mark(CudaStream stream, StepStage stage)
    {
        if (_recorded == 0)
        {
            throw new InvalidOperationException("Mark before Begin");
        }

        _stages.Add(stage);
        NextEvent().Record(stream);
    }

    /// <summary>Waits for the step's last event and adds its stages' times to the totals.</summary>
    public void Collect()
    {
        if (_recorded == 0)
        {
            return;
        }

        _events[_recorded - 1].Synchronize();
        for (var i = 1; i < _recorded; i++)
        {
            _milliseconds[(int)_stages[i - 1]] += CudaEvent.ElapsedMilliseconds(_events[i - 1], _events[i]);
        }

        _stages.Clear();
        _recorded = 0;
        Steps++;
    }

    /// <summary>Average milliseconds a step spent in <paramref name="stage"/> over the collected steps.</summary>
    public double MillisecondsPerStep(StepStage stage) => Steps == 0 ? 0 : _milliseconds[(int)stage] / Steps;

    /// <summary>Forgets the collected steps.</summary>
    public void Reset()
    {
        Array.Clear(_milliseconds);
        Steps = 0;
    }

    private CudaEvent NextEvent()
    {
        if (_recorded == _events.Count)
        {
            _events.Add(new CudaEvent(_device, timing: true));
        }

        return _events[_recorded++];
    }

    public void Dispose()
    {
        foreach (var e in _events)
        {
            e.Dispose();
        }
    }
}
