using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Brings a step's outputs back to the host and waits for them: every logit row (logits mode), or the sampled tokens,
/// the logprobs where a row asked, and the logits of the rows the host samples (<see cref="DeviceSamplingRow.ReturnLogits"/>),
/// consecutive ones in one copy each. Only those rows cross the bus: one stateful request costs its own rows, not the step.
/// </summary>
/// <remarks>Owned by the backend's step loop; its pinned staging buffer grows to the largest step's returned rows.</remarks>
internal sealed unsafe class StepOutputCopier(CudaDevice device, CudaStream stream, int vocab) : IDisposable
{
    private PinnedHostBuffer? _hostLogits;

    /// <summary>Prepares <paramref name="output"/> for <paramref name="batch"/>, copies what it holds from <paramref name="buffers"/>, and synchronizes.</summary>
    public void Copy(ForwardBatch batch, ForwardOutput output, bool sampled, StepBuffers buffers)
    {
        var rows = batch.LogitRows;
        if (sampled)
        {
            output.Prepare(batch.DeviceSampling);
        }
        else
        {
            output.Prepare(rows, sampled: false);
        }

        if (rows == 0)
        {
            stream.Synchronize();
            return;
        }

        if (!sampled)
        {
            CopyLogitRows(buffers, output, 0, 0, rows);
            stream.Synchronize();
            _hostLogits!.AsSpan<float>(0, rows * vocab).CopyTo(output.Logits);
            return;
        }

        stream.CopyToHost(buffers.HostSampledTokens.Pointer, buffers.SampledTokens.Pointer, (long)rows * sizeof(int));
        var logprobs = false;
        foreach (var row in batch.DeviceSampling!)
        {
            logprobs |= row.WantsLogprobs;
        }

        if (logprobs)
        {
            stream.CopyToHost(buffers.HostLogprobs.Pointer, buffers.Logprobs.Pointer, (long)rows * SamplingKernel.LogprobsPerRow * sizeof(float));
            stream.CopyToHost(buffers.HostLogprobIds.Pointer, buffers.LogprobIds.Pointer, (long)rows * ForwardOutput.MaxTopLogprobs * sizeof(int));
        }

        // Host-sampled rows: runs of consecutive rows go back in one copy each, packed in slot order.
        for (var r = 0; r < rows;)
        {
            var slot = output.LogitSlot(r);
            if (slot < 0)
            {
                r++;
                continue;
            }

            var run = 1;
            while (r + run < rows && output.LogitSlot(r + run) >= 0)
            {
                run++;
            }

            CopyLogitRows(buffers, output, r, slot, run);
            r += run;
        }

        stream.Synchronize();
        buffers.HostSampledTokens.AsSpan<int>(0, rows).CopyTo(output.SampledTokens);
        if (output.LogitRowCount > 0)
        {
            _hostLogits!.AsSpan<float>(0, output.LogitRowCount * vocab).CopyTo(output.Logits);
        }

        if (logprobs)
        {
            ReadLogprobs(buffers, batch.DeviceSampling!, output);
        }
    }

    public void Dispose() => _hostLogits?.Dispose();

    /// <summary>Enqueues the copy of <paramref name="count"/> device logit rows from <paramref name="row"/> into pinned slots from <paramref name="slot"/>.</summary>
    private void CopyLogitRows(StepBuffers buffers, ForwardOutput output, int row, int slot, int count)
    {
        var rowBytes = (long)vocab * sizeof(float);
        var bytes = output.LogitRowCount * rowBytes;
        if (_hostLogits is null || _hostLogits.Bytes < bytes)
        {
            stream.Synchronize(); // copies already enqueued into the old buffer finish before it goes
            _hostLogits?.Dispose();
            _hostLogits = new PinnedHostBuffer(device, bytes);
        }

        stream.CopyToHost(_hostLogits.At(slot * rowBytes), buffers.Logits.At(row * rowBytes), count * rowBytes);
    }

    private static void ReadLogprobs(StepBuffers buffers, DeviceSamplingRow[] rows, ForwardOutput output)
    {
        var values = buffers.HostLogprobs.AsSpan<float>(0, rows.Length * SamplingKernel.LogprobsPerRow);
        var ids = buffers.HostLogprobIds.AsSpan<int>(0, rows.Length * ForwardOutput.MaxTopLogprobs);
        for (var r = 0; r < rows.Length; r++)
        {
            if (!rows[r].WantsLogprobs)
            {
                continue;
            }

            var n = Math.Min(rows[r].TopLogprobs!.Value, ForwardOutput.MaxTopLogprobs);
            output.ChosenLogprobs[r] = values[r * SamplingKernel.LogprobsPerRow];
            values.Slice((r * SamplingKernel.LogprobsPerRow) + 1, n).CopyTo(output.TopLogprobValues.AsSpan(r * ForwardOutput.MaxTopLogprobs, n));
            ids.Slice(r * ForwardOutput.MaxTopLogprobs, n).CopyTo(output.TopLogprobTokens.AsSpan(r * ForwardOutput.MaxTopLogprobs, n));
        }
    }
}
