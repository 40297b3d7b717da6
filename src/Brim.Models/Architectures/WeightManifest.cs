namespace Brim.Models;

/// <summary>
/// The one place that knows which tensors a <see cref="ModelConfig"/> needs and their shapes ([out, in] row-major for
/// linear weights, as in Hugging Face). Loaders validate files against it, the dummy source generates it, backends
/// allocate from it.
/// </summary>
public static class WeightManifest
{
    /// <summary>Every tensor the decoder reads, in forward order, typed with the config's <see cref="ModelConfig.WeightDType"/>.</summary>
    public static IReadOnlyList<TensorInfo> For(ModelConfig config)
    {
        long hidden = config.HiddenSize, query = config.QueryDim, kv = config.KvDim, ff = config.IntermediateSize;
        var dtype = config.WeightDType;
        var tensors = new List<TensorInfo>((config.NumLayers * 13) + 3);

        void Add(string name, params long[] shape) => tensors.Add(new TensorInfo(name, dtype, shape));

        Add(LlamaTensorNames.Embedding, config.VocabSize, hidden);
        for (var layer = 0; layer < config.NumLayers; layer++)
        {
            Add(LlamaTensorNames.InputNorm(layer), hidden);
            Add(LlamaTensorNames.QueryWeight(layer), query, hidden);
            Add(LlamaTensorNames.KeyWeight(layer), kv, hidden);
            Add(LlamaTensorNames.ValueWeight(layer), kv, hidden);
            if (config.AttentionBias)
            {
                Add(LlamaTensorNames.QueryBias(layer), query);
                Add(LlamaTensorNames.KeyBias(layer), kv);
                Add(LlamaTensorNames.ValueBias(layer), kv);
            }

            Add(LlamaTensorNames.OutputWeight(layer), hidden, query);
            if (config.AttentionOutputBias)
            {
                Add(LlamaTensorNames.OutputBias(layer), hidden);
            }

            Add(LlamaTensorNames.PostAttentionNorm(layer), hidden);
            Add(LlamaTensorNames.GateWeight(layer), ff, hidden);
            Add(LlamaTensorNames.UpWeight(layer), ff, hidden);
            Add(LlamaTensorNames.DownWeight(layer), hidden, ff);
        }

        Add(LlamaTensorNames.FinalNorm, hidden);
        if (!config.TieWordEmbeddings)
        {
            Add(LlamaTensorNames.LmHead, config.VocabSize, hidden);
        }

        return tensors;
    }

    /// <summary>
    /// Throws <see cref="ModelLoadException"/> unless <paramref name="source"/> holds every tensor of the manifest with the
    /// expected shape. Extra tensors (rotary caches, a tied lm_head) are allowed and ignored.
    /// </summary>
    public static void Validate(ModelConfig config, IWeightSource source, string origin)
    {
        var missing = new List<string>();
        foreach (var expected in For(config))
        {
            if (!source.Contains(expected.Name))
            {
                missing.Add(expected.Name);
                continue;
            }

            var actual = source.GetInfo(expected.Name);
            if (!actual.Shape.AsSpan().SequenceEqual(expected.Shape))
            {
                throw new ModelLoadException(
                    $"{origin}: tensor {expected.Name} has shape [{string.Join(", ", actual.Shape)}], " +
                    $"expected [{string.Join(", ", expected.Shape)}] for this {config.Architecture} config");
            }
        }

        if (missing.Count > 0)
        {
            var shown = string.Join(", ", missing.Take(5)) + (missing.Count > 5 ? $", … ({missing.Count} in all)" : string.Empty);
            throw new ModelLoadException($"{origin}: missing tensors required by {config.Architecture}: {shown}");
        }
    }
}
