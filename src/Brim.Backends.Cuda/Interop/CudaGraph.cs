namespace Brim.Backends.Cuda.Interop;

/// <summary>An instantiated CUDA graph captured from a stream: a whole decode step replayed with one launch.</summary>
internal sealed class CudaGraph : IDisposable
{
    private readonly CudaDevice _device;
    private nint _graph;
    private nint _exec;

    private CudaGraph(CudaDevice device, nint graph, nint exec)
    {
        _device = device;
        _graph = graph;
        _exec = exec;
    }

    /// <summary>Records everything <paramref name="enqueue"/> puts on the stream (nothing runs) and instantiates it.</summary>
    public static CudaGraph Capture(CudaDevice device, CudaStream stream, Action enqueue)
    {
        device.MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamBeginCapture(stream.Handle, CuDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        nint graph;
        try
        {
            enqueue();
        }
        catch
        {
            // End the capture so the stream is usable again; the partial graph is discarded.
            if (CuDriver.cuStreamEndCapture(stream.Handle, out graph) == 0 && graph != 0)
            {
                CuDriver.cuGraphDestroy(graph);
            }

            throw;
        }

        CuDriver.Check(CuDriver.cuStreamEndCapture(stream.Handle, out graph), "cuStreamEndCapture");
        var result = CuDriver.cuGraphInstantiateWithFlags(out var exec, graph, 0);
        if (result != 0)
        {
            CuDriver.cuGraphDestroy(graph);
            CuDriver.Check(result, "cuGraphInstantiateWithFlags");
        }

        return new CudaGraph(device, graph, exec);
    }

    public void Launch(CudaStream stream) => CuDriver.Check(CuDriver.cuGraphLaunch(_exec, stream.Handle), "cuGraphLaunch");

    public void Dispose()
    {
        if (_exec != 0)
        {
            _device.MakeCurrent();
            CuDriver.cuGraphExecDestroy(_exec);
            CuDriver.cuGraphDestroy(_graph);
            _exec = 0;
            _graph = 0;
        }
    }
}
