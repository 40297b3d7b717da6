using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.TensorParallel;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Enqueues one forward step of a Llama-family decoder on the stream, reading everything (tokens, positions, block
/// tables, sampling parameters) from device metadata: the same enqueue serves eager steps and graph capture. For a
/// tensor-parallel rank (<paramref name="rank"/>; <paramref name="config"/> is then the rank's slice with its padded
/// vocabulary) the collectives go in where the sharding needs them: the embedding and the o and down products are summed
/// over ranks, and the logits gathered.
/// </summary>
internal sealed class ForwardPass(
    ModelConfig config,
    AttentionShape shape,
    CudaStream stream,
    LinearLayers linears,
    ModelKernels kernels,
    DeviceWeights weights,
    ulong inverseFrequencies,
    RankCollectives? rank = null)
{
    private (int Gemv, int Quant) _streamRowsFor = (-1, -1);
    private int _streamRows;

    /// <summary>
    /// Runs <paramref name="tokens"/> token rows through the decoder (K/V written to <paramref name="cache"/>), then
    /// the final norm and output projection for <paramref name="logitRows"/> rows, then sampling when asked. With
    /// <paramref name="queryTiles"/> + <paramref name="longQueryTiles"/> &gt; 0 attention runs on the tensor-core prefill
    /// kernels over the step's query tiles (the small tiles first in the list, then the long ones; StepMetadata), and the
    /// first <paramref name="decodeRows"/> rows (left out of the tiles) on the decode kernel.
    /// </summary>
    public void Enqueue(StepBuffers b, PagedKvCache cache, int tokens, int logitRows, int partitions, bool sample, int queryTiles = 0, int longQueryTiles = 0, int decodeRows = 0)
    {
        var tiled = queryTiles + longQueryTiles > 0;
        var prefill = tiled ? kernels.PrefillAttention ?? throw new InvalidOperationException("no tensor-core prefill attention for this model") : null;
        var longPrefill = longQueryTiles > 0 ? kernels.LongPrefillAttention ?? throw new InvalidOperationException("no long-tile prefill attention for this model") : null;
        var layout = b.Layout;
        int h = config.HiddenSize, ff = config.IntermediateSize;
        var eps = config.RmsNormEps;
        ulong x = b.Residual.Pointer, normed = b.Normed.Pointer, qkv = b.Qkv.Pointer, attention = b.Attention.Pointer;
        ulong projection = b.Projection.Pointer, gateUp = b.GateUp.Pointer, activated = b.Activated.Pointer;

        // With gemv the output projections add straight into the residual stream, so the norms have nothing to add. A
        // tensor-parallel rank's o and down products are partial sums: into the projection buffer, summed over the ranks,
        // and added by the next norm.
        var gemv = tokens <= StreamRows();
        var pending = gemv && rank is null ? 0 : projection;
        kernels.Embedding.Gather(stream, weights.Embedding, b.MetadataAt(layout.TokenIds), x, tokens, h, rank?.VocabStart ?? 0, config.VocabSize);
        rank?.SumResidual(stream, x, (long)tokens * h);
        for (var l = 0; l < config.NumLayers; l++)
        {
            var w = weights.Layers[l];
            kernels.RmsNorm.AddRmsNorm(stream, x, l == 0 ? 0 : pending, w.InputNorm, normed, 0, tokens, h, eps);
            linears.Project(gemv, w.Qkv, normed, qkv, tokens, h, shape.QkvDim);
            kernels.Rope.Apply(
                stream, qkv, w.QkvBias, b.MetadataAt(layout.Positions), b.MetadataAt(layout.Slots), inverseFrequencies,
                cache.Keys(l), cache.Values(l), tokens, cache.BlockSize);
            if (prefill is not null)
            {
                if (queryTiles > 0)
                {
                    prefill.Run(
                        stream, qkv, cache.Keys(l), cache.Values(l), b.MetadataAt(layout.BlockTables), b.MetadataAt(layout.RowContext),
                        b.MetadataAt(layout.RowTableOffset), b.MetadataAt(layout.QueryTiles), queryTiles, cache.BlockSize, attention);
                }

                longPrefill?.Run(
                    stream, qkv, cache.Keys(l), cache.Values(l), b.MetadataAt(layout.BlockTables), b.MetadataAt(layout.RowContext),
                    b.MetadataAt(layout.RowTableOffset), b.MetadataAt(layout.QueryTiles + queryTiles), longQueryTiles, cache.BlockSize, attention);
                if (decodeRows > 0)
                {
                    kernels.Attention.Run(
                        stream, qkv, cache.Keys(l), cache.Values(l), b.MetadataAt(layout.BlockTables), b.MetadataAt(layout.RowContext),
                        b.MetadataAt(layout.RowTableOffset), decodeRows, cache.BlockSize, partitions, attention, b.AttentionPartials.Pointer);
                }
            }
            else
            {
                kernels.Attention.Run(
                    stream, qkv, cache.Keys(l), cache.Values(l), b.MetadataAt(layout.BlockTables), b.MetadataAt(layout.RowContext),
                    b.MetadataAt(layout.RowTableOffset), tokens, cache.BlockSize, partitions, attention, b.AttentionPartials.Pointer);
            }
            if (gemv && rank is null)
            {
                linears.AddInto(w.Output, attention, x, tokens, shape.QueryDim, h);
                kernels.RmsNorm.AddRmsNorm(stream, x, 0, w.PostAttentionNorm, normed, 0, tokens, h, eps);
                linears.GateUpSilu(w.GateUp, normed, activated, tokens, h, ff);
                linears.AddInto(w.Down, activated, x, tokens, ff, h);
            }
            else
            {
                linears.Project(gemv, w.Output, attention, projection, tokens, shape.QueryDim, h);
                rank?.SumProjection(stream, projection, (long)tokens * h);
                kernels.RmsNorm.AddRmsNorm(stream, x, projection, w.PostAttentionNorm, normed, 0, tokens, h, eps);
                if (gemv)
                {
                    linears.GateUpSilu(w.GateUp, normed, activated, tokens, h, ff);
                }
                else
                {
                    linears.GemmSilu(w.GateUp, normed, gateUp, activated, tokens, h, ff);
                }

                linears.Project(gemv, w.Down, activated, projection, tokens, ff, h);
                rank?.SumProjection(stream, projection, (long)tokens * h);
            }
        }

        if (logitRows == 0)
        {
            return;
        }

        // Only the sampled rows need the last residual add, the final norm and the (large) output projection.
        kernels.RmsNorm.AddRmsNorm(stream, x, pending, weights.FinalNorm, b.FinalHidden.Pointer, b.MetadataAt(layout.LogitRowTokens), logitRows, h, eps);
        var lmHead = LinearWeight.Bf16(weights.LmHead);
        var logits = rank?.RankLogits ?? b.Logits.Pointer;
        linears.Project(logitRows <= linears.StreamRows(lmHead, h, config.VocabSize), lmHead, b.FinalHidden.Pointer, logits, logitRows, h, config.VocabSize, fp32Output: true);
        rank?.GatherLogits(stream, logitRows, b.Logits.Pointer);
        if (sample)
        {
            kernels.Sampling.Sample(stream, b.Logits.Pointer, rank?.FullVocab ?? config.VocabSize, b.MetadataAt(layout.Sampling), b.SampledTokens.Pointer, b.Logprobs.Pointer, b.LogprobIds.Pointer, logitRows);
        }
    }

    /// <summary>
    /// Most rows for which every projection of every layer streams: the step's structure (output projections adding
    /// straight into the residual stream) is one for all layers.
    /// </summary>
    public int StreamRows()
    {
        // The weights never change and the limits rarely (the harness): recompute only when a limit moved.
        var limits = (linears.GemvMaxRows, linears.QuantGemvMaxRows);
        if (limits != _streamRowsFor)
        {
            _streamRows = ComputeStreamRows();
            _streamRowsFor = limits;
        }

        return _streamRows;
    }

    private int ComputeStreamRows()
    {
        int h = config.HiddenSize, ff = config.IntermediateSize;
        var rows = int.MaxValue;
        foreach (var w in weights.Layers)
        {
            rows = Math.Min(rows, Math.Min(
                Math.Min(linears.StreamRows(w.Qkv, h, shape.QkvDim), linears.StreamRows(w.Output, shape.QueryDim, h)),
                Math.Min(linears.StreamRows(w.GateUp, h, ff, gated: true), linears.StreamRows(w.Down, ff, h))));
        }

        return rows;
    }
}
