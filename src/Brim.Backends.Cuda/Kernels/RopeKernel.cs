using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for rope.cu: biases, rotary embeddings and the paged K/V write of the fused q/k/v projection.</summary>
internal sealed class RopeKernel : IDisposable
{
    private readonly CudaModule _module;
    private readonly KernelFunction _apply;
    private readonly AttentionShape _shape;

    public RopeKernel(CudaDevice device, KernelCompiler compiler, AttentionShape shape)
    {
        shape.Validate();
        _shape = shape;
        _module = new CudaModule(device, compiler.Compile("rope.cu", shape.Defines), "rope.cu");
        _apply = _module.GetFunction("qkv_rope_cache").WithProgrammaticLaunch();
    }

    /// <summary>
    /// Rotates q (in place) and k of each token by its position, adds the biases first when <paramref name="bias"/>
    /// is not 0, and writes k and v to cache slot slots[t] (skipped for -1). inverseFrequencies holds headDim/2 floats.
    /// </summary>
    public void Apply(CudaStream stream, ulong qkv, ulong bias, ulong positions, ulong slots, ulong inverseFrequencies, ulong kCache, ulong vCache, int tokens, int blockSize)
    {
        Launch.Positive(tokens, nameof(tokens));
        Launch.Positive(blockSize, nameof(blockSize));
        var a = default(KernelArguments);
        a.Add(qkv);
        a.Add(bias);
        a.Add(positions);
        a.Add(slots);
        a.Add(inverseFrequencies);
        a.Add(kCache);
        a.Add(vCache);
        a.Add(blockSize);
        var work = (_shape.NumHeads + _shape.NumKvHeads) * _shape.HeadDim / 2;
        _apply.Launch(stream, tokens, Launch.RowThreads(work, 256), ref a);
    }

    public void Dispose() => _module.Dispose();
}
