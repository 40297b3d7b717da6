namespace Brim.Models;

/// <summary>
/// Opens a legacy llama2.c checkpoint: a <see cref="Llama2CHeader"/> then float32 arrays in the order of run.c's
/// memory_map_weights, each stacked over layers. The arrays are exposed, memory-mapped, under Hugging Face names.
/// </summary>
internal static class Llama2CCheckpoint
{
    /// <summary>Reads only the header: enough for the dummy load format.</summary>
    public static ModelConfig ReadConfig(string path)
    {
        using var stream = OpenForHeader(path);
        Span<byte> bytes = stackalloc byte[Llama2CHeader.ByteSize];
        var read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return Llama2CHeader.Parse(bytes[..read], path).ToConfig();
    }

    public static (ModelConfig Config, IWeightSource Weights) Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            var header = Llama2CHeader.Parse(file.Span(0, (int)Math.Min(file.Length, Llama2CHeader.ByteSize)), path);
            var config = header.ToConfig();
            config.Validate();
            var tensors = Layout(header, file, out var expectedLength);
            if (file.Length != expectedLength)
            {
                var problem = file.Length < expectedLength ? "is truncated" : "is longer than its header describes";
                throw new ModelLoadException($"{path} {problem}: header {header} needs {expectedLength} bytes, the file has {file.Length}");
            }

            return (config, new MappedWeightSource(tensors, [file]));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static List<MappedTensor> Layout(Llama2CHeader header, MappedFile file, out long endOffset)
    {
        long dim = header.Dim, hidden = header.HiddenDim, kv = header.KvDim, vocab = header.VocabSize;
        var tensors = new List<MappedTensor>();
        var offset = (long)Llama2CHeader.ByteSize;

        // One array for the whole model.
        void Single(string name, params long[] shape)
        {
            var info = new TensorInfo(name, TensorDType.F32, shape);
            tensors.Add(new MappedTensor(info, file, offset));
            offset += info.ByteCount;
        }

        // One array stacked over layers: layer i's matrix follows layer i-1's.
        void PerLayer(Func<int, string> name, params long[] shape)
        {
            for (var layer = 0; layer < header.NumLayers; layer++)
            {
                Single(name(layer), shape);
            }
        }

        Single(LlamaTensorNames.Embedding, vocab, dim);
        PerLayer(LlamaTensorNames.InputNorm, dim);
        PerLayer(LlamaTensorNames.QueryWeight, dim, dim);
        PerLayer(LlamaTensorNames.KeyWeight, kv, dim);
        PerLayer(LlamaTensorNames.ValueWeight, kv, dim);
        PerLayer(LlamaTensorNames.OutputWeight, dim, dim);
        PerLayer(LlamaTensorNames.PostAttentionNorm, dim);
        PerLayer(LlamaTensorNames.GateWeight, hidden, dim);   // w1
        PerLayer(LlamaTensorNames.DownWeight, dim, hidden);   // w2
        PerLayer(LlamaTensorNames.UpWeight, hidden, dim);     // w3
        Single(LlamaTensorNames.FinalNorm, dim);

        // freq_cis_real and freq_cis_imag [seq_len, head_size / 2]: precomputed RoPE tables, recomputed by backends.
        offset += 2L * header.SeqLen * (header.HeadSize / 2) * sizeof(float);
        if (!header.SharedClassifier)
        {
            Single(LlamaTensorNames.LmHead, vocab, dim);
        }

        endOffset = offset;
        return tensors;
    }

    private static FileStream OpenForHeader(string path) =>
        File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            : throw new ModelLoadException($"llama2.c checkpoint not found: {path}");
}
