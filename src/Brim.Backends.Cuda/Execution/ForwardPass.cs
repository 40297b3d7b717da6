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

    /// <summary>Times each stage of the steps it enqueues (the harness's profile; null when serving).</summary>
    public StageClock? Clock { get; set; }

    /// <summary>
    /// Runs <paramref name="tokens"/> token rows through the decoder (K/V written to <paramref name="cache"/>), then
    /// the final norm and output projection for <paramref name="logitRows"/> rows, then sampling when asked. With
    /// <paramref name="queryTiles"/> + <paramref name="longQueryTiles"/> &gt; 0 attention runs on the tensor-core prefill
    /// kernels over the step's query tiles (the small tiles first in the list, then the long ones; StepMetadata), and the
    /// first <paramref name="decodeRows"/> rows (left out of the tiles) on the decode kernel.
    /// </summary>
    public void Enqueue(StepBuffers b, PagedKvCache cache, int tokens, int logitRows, int partitions, bool sample, int queryTiles = 0, int longQueryTiles = 0, int decodeRows = 0)
    {
        var gemv = tokens <= StreamRows();
        Clock?.Begin(stream);
        EnqueueLayers(b, cache, 0, tokens, gemv, partitions, b.AttentionPartials.Pointer, null, queryTiles, longQueryTiles, decodeRows);
        EnqueueHead(b, logitRows, sample, PendingProjection(b, gemv));
    }

    /// <summary>
    /// The projection the last layer left for the final norm to add (0: it added its own, as gemv steps of one GPU do).
    /// </summary>
    public ulong PendingProjection(StepBuffers b, bool gemv) => gemv && rank is null ? 0 : b.Projection.Pointer;

    /// <summary>
    /// The decoder layers for token rows [<paramref name="from"/>, <paramref name="from"/> + <paramref name="tokens"/>) of
    /// the step's buffers and metadata, nothing after: a whole step's rows, or one half of a decode step run beside the
    /// other half on another stream (<see cref="DecodeLanes"/>: <paramref name="from"/> &gt; 0 offsets every row-indexed
    /// buffer and metadata array; block tables are indexed through the rows' table offsets, so they are not offset).
    /// <paramref name="partials"/> is the attention's split-partition scratch, one per concurrently running pass.
    /// <paramref name="afterFirstQkv"/>, when given, is recorded once layer 0's q/k/v are written (a second lane waits
    /// for it, so the two start out of phase).
    /// </summary>
    public void EnqueueLayers(
        StepBuffers b, PagedKvCache cache, int from, int tokens, bool gemv, int partitions, ulong partials, CudaEvent? afterFirstQkv = null,
        int queryTiles = 0, int longQueryTiles = 0, int decodeRows = 0)
    {
        if (from != 0 && (queryTiles + longQueryTiles > 0 || rank is not null))
        {
            throw new ArgumentException("only decode rows of one GPU run as a row range of the step", nameof(from));
        }

        var tiled = queryTiles + longQueryTiles > 0;
        var prefill = tiled ? kernels.PrefillAttention ?? throw new InvalidOperationException("no tensor-core prefill attention for this model") : null;
        var longPrefill = longQueryTiles > 0 ? kernels.LongPrefillAttention ?? throw new InvalidOperationException("no long-tile prefill attention for this model") : null;
        var layout = b.Layout;
        int h = config.HiddenSize, ff = config.IntermediateSize;
        var eps = config.RmsNormEps;
        var row = (ulong)from;
        ulong x = b.Residual.Pointer + (row * (ulong)h * 4), normed = b.Normed.Pointer + (row * (ulong)h * 2);
        ulong qkv = b.Qkv.Pointer + (row * (ulong)shape.QkvDim * 2), attention = b.Attention.Pointer + (row * (ulong)shape.QueryDim * 2);
        ulong projection = b.Projection.Pointer + (row * (ulong)h * 2), gateUp = b.GateUp.Pointer + (row * 2UL * (ulong)ff * 2);
        ulong activated = b.Activated.Pointer + (row * (ulong)ff * 2);
        ulong Rows(int array) => b.MetadataAt(array) + (row * sizeof(int));

        // With gemv the output projections add straight into the residual stream, so the norms have nothing to add. A
        // tensor-parallel rank's o and down products are partial sums: into the projection buffer, summed over the ranks,
        // and added by the next norm.
        var pending = gemv && rank is null ? 0 : projection;
        kernels.Embedding.Gather(stream, weights.Embedding, Rows(layout.TokenIds), x, tokens, h, rank?.VocabStart ?? 0, config.VocabSize);
        rank?.SumResidual(stream, x, (long)tokens * h);
        Mark(StepStage.Embedding);
        for (var l = 0; l < config.NumLayers; l++)
        {
            var w = weights.Layers[l];
            kernels.RmsNorm.AddRmsNorm(stream, x, l == 0 ? 0 : pending, w.InputNorm, normed, 0, tokens, h, eps);
            Mark(StepStage.InputNorm);
            linears.Project(gemv, w.Qkv, normed, qkv, tokens, h, shape.QkvDim);
            Mark(StepStage.Qkv);
            kernels.Rope.Apply(
                stream, qkv, w.QkvBias, Rows(layout.Positions), Rows(layout.Slots), inverseFrequencies,
                cache.Keys(l), cache.Values(l), tokens, cache.BlockSize);
            Mark(StepStage.Rope);
            if (l == 0)
            {
                afterFirstQkv?.Record(stream);
            }

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
                        b.MetadataAt(layout.RowTableOffset), decodeRows, cache.BlockSize, partitions, attention, partials);
                }
            }
            else
            {
                kernels.Attention.Run(
                    stream, qkv, cache.Keys(l), cache.Values(l), b.MetadataAt(layout.BlockTables), Rows(layout.RowContext),
                    Rows(layout.RowTableOffset), tokens, cache.BlockSize, partitions, attention, partials);
            }

            Mark(StepStage.Attention);
            if (gemv && rank is null)
            {
                linears.AddInto(w.Output, attention, x, tokens, shape.QueryDim, h);
                Mark(StepStage.Output);
                kernels.RmsNorm.AddRmsNorm(stream, x, 0, w.PostAttentionNorm, normed, 0, tokens, h, eps);
                Mark(StepStage.PostAttentionNorm);
                linears.GateUpSilu(w.GateUp, normed, activated, tokens, h, ff);
                Mark(StepStage.GateUp);
                linears.AddInto(w.Down, activated, x, tokens, ff, h);
                Mark(StepStage.Down);
            }
            else
            {
                linears.Project(gemv, w.Output, attention, projection, tokens, shape.QueryDim, h);
                rank?.SumProjection(stream, projection, (long)tokens * h);
                Mark(StepStage.Output);
                kernels.RmsNorm.AddRmsNorm(stream, x, projection, w.PostAttentionNorm, normed, 0, tokens, h, eps);
                Mark(StepStage.PostAttentionNorm);
                if (gemv)
                {
                    linears.GateUpSilu(w.GateUp, normed, activated, tokens, h, ff);
                }
                else
                {
                    linears.GemmSilu(w.GateUp, normed, gateUp, activated, tokens, h, ff);
                }

                Mark(StepStage.GateUp);
                linears.Project(gemv, w.Down, activated, projection, tokens, ff, h);
                rank?.SumProjection(stream, projection, (long)tokens * h);
                Mark(StepStage.Down);
            }
        }
    }

    /// <summary>
    /// After the layers: for <paramref name="logitRows"/> rows, the last residual add (<paramref name="pending"/>, see
    /// <see cref="PendingProjection"/>), the final norm, the output projection and, when asked, sampling.
    /// </summary>
    public void EnqueueHead(StepBuffers b, int logitRows, bool sample, ulong pending)
    {
        if (logitRows == 0)
        {
            return;
        }

        var layout = b.Layout;
        var h = config.HiddenSize;
        var x = b.Residual.Pointer;

        // Only the sampled rows need the last residual add, the final norm and the (large) output projection.
        kernels.RmsNorm.AddRmsNorm(stream, x, pending, weights.FinalNorm, b.FinalHidden.Pointer, b.MetadataAt(layout.LogitRowTokens), logitRows, h, config.RmsNormEps);
        Mark(StepStage.FinalNorm);
        var lmHead = LinearWeight.Bf16(weights.LmHead);
        var logits = rank?.RankLogits ?? b.Logits.Pointer;
        linears.Project(logitRows <= linears.StreamRows(lmHead, h, config.VocabSize), lmHead, b.FinalHidden.Pointer, logits, logitRows, h, config.VocabSize, fp32Output: true);
        rank?.GatherLogits(stream, logitRows, b.Logits.Pointer);
        Mark(StepStage.LmHead);
        if (sample)
        {
            kernels.Sampling.Sample(stream, b.Logits.Pointer, rank?.FullVocab ?? config.VocabSize, b.MetadataAt(layout.Sampling), b.SampledTokens.Pointer, b.Logprobs.Pointer, b.LogprobIds.Pointer, logitRows);
            Mark(StepStage.Sampling);
        }
    }

    private void Mark(StepStage stage) => Clock?.Mark(stream, stage);

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
