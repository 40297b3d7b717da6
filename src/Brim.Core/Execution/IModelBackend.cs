namespace Brim.Core.Execution;

/// <summary>
/// Runs a model's forward pass over ragged batches against a paged KV cache that it owns. The engine owns which
/// block belongs to whom (the block manager); the backend owns the memory behind the blocks. Not thread-safe: the
/// engine's step loop is its only caller.
/// </summary>
public interface IModelBackend : IDisposable
{
    /// <summary>Human-readable device, for logs and reports ("cpu (16 threads)", "NVIDIA H100 80GB HBM3").</summary>
    string DeviceName { get; }

    int VocabSize { get; }

    /// <summary>Bytes one KV block of <paramref name="blockSize"/> positions takes over all layers, K and V.</summary>
    long KvBytesPerBlock(int blockSize);

    /// <summary>Bytes available for the KV cache once the weights are loaded (host memory for CPU, device memory for GPUs).</summary>
    long AvailableKvCacheBytes(double memoryUtilization);

    /// <summary>Allocates the paged KV cache; must be called once before <see cref="Forward"/>.</summary>
    void AllocateKvCache(int numBlocks, int blockSize);

    /// <summary>
    /// Host-memory swap space for preempted sequences' KV blocks, or null when the backend cannot swap (the engine then
    /// always recomputes). The backend owns the object and disposes it with itself.
    /// </summary>
    IKvSwapSpace? SwapSpace => null;

    /// <summary>Whether <see cref="ForwardBatch.DeviceSampling"/> is honoured.</summary>
    bool SupportsDeviceSampling { get; }

    /// <summary>
    /// Computes the batch: writes K/V of every token into its block, and fills <paramref name="output"/> with
    /// <see cref="ForwardBatch.LogitRows"/> rows: each slice's last <see cref="SequenceSlice.LogitRowCount"/> tokens
    /// (logits, or sampled tokens when device sampling was asked for and is supported).
    /// </summary>
    void Forward(ForwardBatch batch, ForwardOutput output);
}
