using Brim.Models;

namespace Brim.Telemetry.Cost;

/// <summary>
/// What one forward step of a Llama-family decoder costs in FLOPs and bytes, derived from the architecture alone, so
/// that MFU and MBU compare the work the model required with the device's ceilings (not with what a kernel happened
/// to do). The counting, per step:
/// <list type="bullet">
/// <item>Matmul FLOPs: 2 × (linear weights of the decoder layers) per token processed, a multiply and an add per
/// weight. The embedding is a row gather (no FLOPs); norms, rotary, activations and bias adds are O(hidden) per token
/// and left out.</item>
/// <item>Attention FLOPs: 4 × layers × heads × headDim per (query token, attended position): the score q·k is headDim
/// multiply-adds (2·headDim FLOPs) and the weighted sum of v another 2·headDim, for every query head. A decode token at
/// position p attends to p + 1 positions; a prefill token to its own causal prefix.</item>
/// <item>Logit FLOPs: 2 × hidden × vocab for each row that is sampled (only the last position of a prefill chunk, and
/// every decode token, needs logits).</item>
/// <item>Bytes read: every decoder weight (linear and norm) once per step, whatever the batch size — the reason batching
/// pays; the output projection once when any row is sampled; one embedding row per token; K and V of every attended
/// position once per sequence (2 × layers × kvHeads × headDim × KV element size per position).</item>
/// <item>Bytes written: K and V of every new position, and float32 logits of the sampled rows.</item>
/// </list>
/// Activations are assumed to stay in on-chip memory; at large prefill batches they do not, so the byte count is a
/// lower bound there (and MBU conservative).
/// </summary>
public sealed class ModelCostModel
{
    private const int LogitElementBytes = sizeof(float);

    /// <param name="kvBytesPerPosition">The cache's real bytes per position (all layers, K and V) where it is not plain
    /// <paramref name="kvDType"/> elements: an FP8 or INT8 cache also stores a scale per head vector.</param>
    /// <param name="projectionBytes">The decoder's linear weights as the backend holds them, where that is not
    /// <see cref="ModelConfig.WeightDType"/> elements (quantized weights: codes and scales).</param>
    public ModelCostModel(ModelConfig config, TensorDType? kvDType = null, long? kvBytesPerPosition = null, long? projectionBytes = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        KvDType = kvDType ?? config.WeightDType;
        long h = config.HiddenSize, q = config.QueryDim, kv = config.KvDim, ff = config.IntermediateSize, v = config.VocabSize;
        var weightBytes = config.WeightDType.ByteSize();

        // q, k, v and o projections, then gate, up and down: the weights every token multiplies in every layer.
        var linearPerLayer = (h * q) + (2 * h * kv) + (q * h) + (3 * h * ff);
        LinearParameters = config.NumLayers * linearPerLayer;
        var normAndBias = (config.NumLayers * 2 * h) + h
            + (config.AttentionBias ? config.NumLayers * (q + (2 * kv)) : 0)
            + (config.AttentionOutputBias ? config.NumLayers * h : 0);
        OutputProjectionParameters = v * h;

        MatmulFlopsPerToken = 2 * LinearParameters;
        AttentionFlopsPerPosition = 4L * config.NumLayers * config.NumHeads * config.HeadDim;
        LogitFlopsPerRow = 2 * h * v;
        DecoderWeightBytes = (projectionBytes ?? (LinearParameters * weightBytes)) + (normAndBias * weightBytes);
        OutputProjectionBytes = OutputProjectionParameters * weightBytes;
        EmbeddingRowBytes = h * weightBytes;
        KvBytesPerPosition = kvBytesPerPosition ?? 2L * config.NumLayers * config.KvDim * KvDType.ByteSize();
        LogitBytesPerRow = v * LogitElementBytes;
    }

    public ModelConfig Config { get; }

    /// <summary>Element type of the KV cache (defaults to the weight type; a quantized cache passes its own).</summary>
    public TensorDType KvDType { get; }

    /// <summary>Weights of the q/k/v/o and gate/up/down projections of all layers.</summary>
    public long LinearParameters { get; }

    /// <summary>The lm_head (or, tied, the embedding matrix read again as the output projection).</summary>
    public long OutputProjectionParameters { get; }

    public long MatmulFlopsPerToken { get; }

    public long AttentionFlopsPerPosition { get; }

    public long LogitFlopsPerRow { get; }

    /// <summary>Decoder weights (linear, norms, biases) read once per step.</summary>
    public long DecoderWeightBytes { get; }

    public long OutputProjectionBytes { get; }

    public long EmbeddingRowBytes { get; }

    /// <summary>K and V of one position across all layers.</summary>
    public long KvBytesPerPosition { get; }

    public long LogitBytesPerRow { get; }

    /// <summary>Weight bytes a step reads regardless of how many sequences it carries (the fixed cost batching amortizes).</summary>
    public long FixedWeightBytes(bool anyRowSampled) => DecoderWeightBytes + (anyRowSampled ? OutputProjectionBytes : 0);

    /// <summary>The FLOPs and bytes of one step of the given shape.</summary>
    public StepCost Estimate(in StepShape shape)
    {
        shape.Validate();
        double flops = ((double)shape.Tokens * MatmulFlopsPerToken)
            + ((double)shape.AttendedPositions * AttentionFlopsPerPosition)
            + ((double)shape.SampledRows * LogitFlopsPerRow);
        double read = FixedWeightBytes(shape.SampledRows > 0)
            + ((double)shape.Tokens * EmbeddingRowBytes)
            + ((double)shape.KvReadPositions * KvBytesPerPosition);
        double written = ((double)shape.KvWrittenPositions * KvBytesPerPosition) + ((double)shape.SampledRows * LogitBytesPerRow);
        return new StepCost(flops, read, written);
    }
}
