using Brim.Backends.Cuda.Interop;
using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// All weights of a Llama-family model in one device allocation, bf16. q/k/v are stored as one [q+2kv, hidden]
/// matrix and gate/up as one [2ff, hidden] matrix so each is a single GEMM; a tied model's output projection is the
/// embedding itself.
/// </summary>
internal sealed class DeviceWeights : IDisposable
{
    private const long Alignment = 256;
    private readonly DeviceBuffer _arena;

    private DeviceWeights(DeviceBuffer arena, LayerWeights[] layers, ulong embedding, ulong finalNorm, ulong lmHead)
    {
        _arena = arena;
        Layers = layers;
        Embedding = embedding;
        FinalNorm = finalNorm;
        LmHead = lmHead;
    }

    public IReadOnlyList<LayerWeights> Layers { get; }

    public ulong Embedding { get; }

    public ulong FinalNorm { get; }

    public ulong LmHead { get; }

    public long Bytes => _arena.Bytes;

    /// <summary>Allocates the arena for <paramref name="config"/> and fills it from <paramref name="source"/>.</summary>
    public static DeviceWeights Load(CudaDevice device, CudaStream stream, WeightUploader uploader, ModelConfig config, IWeightSource source)
    {
        long h = config.HiddenSize, q = config.QueryDim, kv = config.KvDim, ff = config.IntermediateSize, v = config.VocabSize;
        var offset = 0L;
        long Reserve(long elements)
        {
            var at = offset;
            offset += ((elements * 2) + Alignment - 1) / Alignment * Alignment;
            return at;
        }

        var layerOffsets = new (long InputNorm, long Qkv, long QkvBias, long Output, long PostNorm, long GateUp, long Down)[config.NumLayers];
        for (var l = 0; l < config.NumLayers; l++)
        {
            layerOffsets[l] = (Reserve(h), Reserve((q + (2 * kv)) * h), config.AttentionBias ? Reserve(q + (2 * kv)) : -1, Reserve(h * q), Reserve(h), Reserve(2 * ff * h), Reserve(h * ff));
        }

        var embedding = Reserve(v * h);
        var finalNorm = Reserve(h);
        var lmHead = config.TieWordEmbeddings ? embedding : Reserve(v * h);

        var arena = new DeviceBuffer(device, offset);
        try
        {
            ulong At(long o) => o < 0 ? 0 : arena.At(o);
            var layers = new LayerWeights[config.NumLayers];
            for (var l = 0; l < config.NumLayers; l++)
            {
                var o = layerOffsets[l];
                layers[l] = new LayerWeights(At(o.InputNorm), At(o.Qkv), At(o.QkvBias), At(o.Output), At(o.PostNorm), At(o.GateUp), At(o.Down));
                uploader.Upload(LlamaTensorNames.InputNorm(l), layers[l].InputNorm, [h]);
                uploader.Upload(LlamaTensorNames.QueryWeight(l), layers[l].Qkv, [q, h]);
                uploader.Upload(LlamaTensorNames.KeyWeight(l), layers[l].Qkv + (ulong)(q * h * 2), [kv, h]);
                uploader.Upload(LlamaTensorNames.ValueWeight(l), layers[l].Qkv + (ulong)((q + kv) * h * 2), [kv, h]);
                if (config.AttentionBias)
                {
                    uploader.Upload(LlamaTensorNames.QueryBias(l), layers[l].QkvBias, [q]);
                    uploader.Upload(LlamaTensorNames.KeyBias(l), layers[l].QkvBias + (ulong)(q * 2), [kv]);
                    uploader.Upload(LlamaTensorNames.ValueBias(l), layers[l].QkvBias + (ulong)((q + kv) * 2), [kv]);
                }

                uploader.Upload(LlamaTensorNames.OutputWeight(l), layers[l].Output, [h, q]);
                uploader.Upload(LlamaTensorNames.PostAttentionNorm(l), layers[l].PostAttentionNorm, [h]);
                uploader.Upload(LlamaTensorNames.GateWeight(l), layers[l].GateUp, [ff, h]);
                uploader.Upload(LlamaTensorNames.UpWeight(l), layers[l].GateUp + (ulong)(ff * h * 2), [ff, h]);
                uploader.Upload(LlamaTensorNames.DownWeight(l), layers[l].Down, [h, ff]);
            }

            uploader.Upload(LlamaTensorNames.Embedding, At(embedding), [v, h]);
            uploader.Upload(LlamaTensorNames.FinalNorm, At(finalNorm), [h]);
            if (!config.TieWordEmbeddings)
            {
                uploader.Upload(LlamaTensorNames.LmHead, At(lmHead), [v, h]);
            }

            uploader.Finish();
            stream.Synchronize();
            return new DeviceWeights(arena, layers, At(embedding), At(finalNorm), At(lmHead));
        }
        catch
        {
            arena.Dispose();
            throw;
        }
    }

    public void Dispose() => _arena.Dispose();
}
