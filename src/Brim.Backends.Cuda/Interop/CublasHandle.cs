namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// A cuBLAS handle bound to one stream with a fixed workspace (so GEMMs can be captured into CUDA graphs without
/// allocating). Offers the one product a decoder needs: a linear layer over row-major bf16 activations.
/// </summary>
internal sealed unsafe class CublasHandle : IDisposable
{
    private const long WorkspaceBytes = 32L << 20;
    private readonly CudaDevice _device;
    private readonly DeviceBuffer _workspace;
    private nint _handle;

    public CublasHandle(CudaDevice device, CudaStream stream)
    {
        _device = device;
        device.MakeCurrent();
        Cublas.Check(Cublas.cublasCreate(out _handle), "cublasCreate");
        Cublas.Check(Cublas.cublasSetStream(_handle, stream.Handle), "cublasSetStream");
        _workspace = new DeviceBuffer(device, WorkspaceBytes);
        Cublas.Check(Cublas.cublasSetWorkspace_v2(_handle, _workspace.Pointer, (nuint)WorkspaceBytes), "cublasSetWorkspace");
    }

    /// <summary>
    /// y[rows, outFeatures] = x[rows, inFeatures] · w[outFeatures, inFeatures]ᵀ, all row-major, bf16 operands,
    /// fp32 accumulation; y is bf16, or fp32 when <paramref name="fp32Output"/> (logits).
    /// </summary>
    public void Linear(ulong w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false)
    {
        if (rows <= 0 || inFeatures <= 0 || outFeatures <= 0)
        {
            throw new ArgumentException($"linear layer of shape rows {rows}, in {inFeatures}, out {outFeatures}");
        }

        // Row-major y[rows, out] is column-major y'[out, rows] = w'ᵀ · x' where w' = column-major [in, out].
        float alpha = 1f, beta = 0f;
        var status = Cublas.cublasGemmEx(
            _handle, Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, outFeatures, rows, inFeatures,
            &alpha, w, Cublas.CUDA_R_16BF, inFeatures,
            x, Cublas.CUDA_R_16BF, inFeatures,
            &beta, y, fp32Output ? Cublas.CUDA_R_32F : Cublas.CUDA_R_16BF, outFeatures,
            Cublas.CUBLAS_COMPUTE_32F, Cublas.CUBLAS_GEMM_DEFAULT);
        Cublas.Check(status, $"cublasGemmEx(m={outFeatures}, n={rows}, k={inFeatures})");
    }

    public void Dispose()
    {
        if (_handle != 0)
        {
            _device.MakeCurrent();
            Cublas.cublasDestroy(_handle);
            _handle = 0;
            _workspace.Dispose();
        }
    }
}
