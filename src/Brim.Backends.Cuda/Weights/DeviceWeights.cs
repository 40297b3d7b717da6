using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// All weights of a Llama-family model in one device allocation. q/k/v are stored as one [q+2kv, hidden] matrix and
/// gate/up as one [2ff, hidden] matrix so each is a single product; a tied model's output projection is the embedding
/// itself. Embedding, norms, biases and lm_head are bf16; the projections bf16 or quantized (<see cref="ProjectionPlan"/>):
/// quantized on the device from float weights, or repacked from a quantized checkpoint.
/// </summary>
internal sealed class DeviceWeights : IDisposable
{
    private const long Alignment = 256;
    private readonly DeviceBuffer _arena;

    private DeviceWeights(DeviceBuffer arena, LayerWeights[] layers, ulong embedding, ulong finalNorm, ulong lmHead, long projectionBytes)
    {
        _arena = arena;
        Layers = layers;
        Embedding = embedding;
        FinalNorm = finalNorm;
        LmHead = lmHead;
        ProjectionBytes = projectionBytes;
    }

    public IReadOnlyList<LayerWeights> Layers { get; }

    public ulong Embedding { get; }

    public ulong FinalNorm { get; }

    public ulong LmHead { get; }

    public long Bytes => _arena.Bytes;

    /// <summary>Device bytes of the decoder layers' projections (codes and scales): what a decode step streams besides lm_head.</summary>
    public long ProjectionBytes { get; }

    /// <summary>
    /// The quantized format of the decoder's projections, or bf16 where none is quantized. A checkpoint has one scheme,
    /// so one quantized format at most, though it may keep some projections (of any layer) in float.
    /// </summary>
    public WeightFormat ProjectionFormat { get; private init; }

    /// <summary>Allocates the arena for <paramref name="config"/> and fills it from <paramref name="source"/> as <paramref name="plan"/> says.</summary>
    public static DeviceWeights Load(
        CudaDevice device, CudaStream stream, WeightUploader uploader, QuantizeKernels? quantize, ModelConfig config, ProjectionPlan plan)
    {
        long h = config.HiddenSize, q = config.QueryDim, kv = config.KvDim, v = config.VocabSize;
        var offset = 0L;
        long Reserve(long bytes)
        {
            var at = offset;
            offset += (bytes + Alignment - 1) / Alignment * Alignment;
            return at;
        }

        var projectionBytes = 0L;
        (long Codes, long Scales, WeightFormat Format, int Group) ReserveProjection(ProjectionMember[] members, int inFeatures)
        {
            var (format, group) = plan.Describe(members, inFeatures);
            var rows = members.Sum(m => (long)m.Rows);
            var codes = LinearWeight.CodeBytes(format, rows, inFeatures);
            var scales = LinearWeight.ScaleBytes(format, rows, inFeatures, group);
            projectionBytes += codes + scales;
            return (Reserve(codes), scales == 0 ? -1 : Reserve(scales), format, group);
        }

        var layerOffsets = new (long InputNorm, long QkvBias, long PostNorm, (long, long, WeightFormat, int)[] Projections)[config.NumLayers];
        for (var l = 0; l < config.NumLayers; l++)
        {
            var inputNorm = Reserve(h * 2);
            var bias = config.AttentionBias ? Reserve((q + (2 * kv)) * 2) : -1;
            var postNorm = Reserve(h * 2);
            var projections = ProjectionPlan.Projections(config, l).Select(p => ReserveProjection(p.Members, p.InFeatures)).ToArray();
            layerOffsets[l] = (inputNorm, bias, postNorm, projections);
        }

        var embedding = Reserve(v * h * 2);
        var finalNorm = Reserve(h * 2);
        var lmHead = config.TieWordEmbeddings ? embedding : Reserve(v * h * 2);

        var arena = new DeviceBuffer(device, offset);
        try
        {
            ulong At(long o) => o < 0 ? 0 : arena.At(o);
            var largestMember = ProjectionPlan.Projections(config, 0).SelectMany(p => p.Members.Select(m => (long)m.Rows * p.InFeatures)).Max();
            using var scratch = plan.OnLoad == WeightFormat.Bf16 ? null : new DeviceBuffer(device, largestMember * 2);
            var layers = new LayerWeights[config.NumLayers];
            for (var l = 0; l < config.NumLayers; l++)
            {
                var o = layerOffsets[l];
                var linear = o.Projections.Select(p => new LinearWeight(At(p.Item1), At(p.Item2), p.Item3, p.Item4)).ToArray();
                layers[l] = new LayerWeights(At(o.InputNorm), linear[0], At(o.QkvBias), linear[1], At(o.PostNorm), linear[2], linear[3]);
                uploader.Upload(LlamaTensorNames.InputNorm(l), layers[l].InputNorm, [h]);
                uploader.Upload(LlamaTensorNames.PostAttentionNorm(l), layers[l].PostAttentionNorm, [h]);
                if (config.AttentionBias)
                {
                    uploader.Upload(LlamaTensorNames.QueryBias(l), layers[l].QkvBias, [q]);
                    uploader.Upload(LlamaTensorNames.KeyBias(l), layers[l].QkvBias + (ulong)(q * 2), [kv]);
                    uploader.Upload(LlamaTensorNames.ValueBias(l), layers[l].QkvBias + (ulong)((q + kv) * 2), [kv]);
                }

                var p = 0;
                foreach (var (members, inFeatures) in ProjectionPlan.Projections(config, l))
                {
                    FillProjection(stream, uploader, quantize, plan, scratch, linear[p++], members, inFeatures);
                }
            }

            uploader.Upload(LlamaTensorNames.Embedding, At(embedding), [v, h]);
            uploader.Upload(LlamaTensorNames.FinalNorm, At(finalNorm), [h]);
            if (!config.TieWordEmbeddings)
            {
                uploader.Upload(LlamaTensorNames.LmHead, At(lmHead), [v, h]);
            }

            uploader.Finish();
            stream.Synchronize();
            var format = layers.SelectMany(w => new[] { w.Qkv, w.Output, w.GateUp, w.Down }).Select(w => w.Format).FirstOrDefault(f => f != WeightFormat.Bf16);
            return new DeviceWeights(arena, layers, At(embedding), At(finalNorm), At(lmHead), projectionBytes) { ProjectionFormat = format };
        }
        catch
        {
            arena.Dispose();
            throw;
        }
    }

    public void Dispose() => _arena.Dispose();

    /// <summary>Writes the members of one fused projection one after another, each in the projection's format.</summary>
    private static void FillProjection(
        CudaStream stream, WeightUploader uploader, QuantizeKernels? quantize, ProjectionPlan plan, DeviceBuffer? scratch,
        LinearWeight target, ProjectionMember[] members, int inFeatures)
    {
        var row = 0;
        foreach (var (member, rows) in members)
        {
            if (target.Format == WeightFormat.Bf16)
            {
                uploader.Upload(member, target.Codes + (ulong)LinearWeight.CodeBytes(WeightFormat.Bf16, row, inFeatures), [rows, inFeatures]);
            }
            else if (plan.PackedLayer(member) is { } layer)
            {
                var packed = QuantizedPacking.Pack(layer, plan.Raw!);
                stream.Upload<byte>(target.Codes + (ulong)LinearWeight.CodeBytes(target.Format, row, inFeatures), packed.Codes);
                stream.Upload<byte>(target.Scales + (ulong)LinearWeight.ScaleBytes(target.Format, row, inFeatures, target.GroupWidth), packed.Scales);
            }
            else
            {
                // Quantized on load: the member's bf16 values into scratch, then into its rows of the layout (stream order).
                uploader.Upload(member, scratch!.Pointer, [rows, inFeatures]);
                quantize!.Quantize(stream, scratch.Pointer, target, row, rows, inFeatures); // the plan quantizes on load: both exist
            }

            row += rows;
        }
    }
}
