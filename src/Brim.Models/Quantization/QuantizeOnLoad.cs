namespace Brim.Models;

/// <summary>Applies <c>--quantization</c> to a loaded model, and refuses it on a checkpoint quantized another way.</summary>
internal static class QuantizeOnLoad
{
    public static LoadedModel Apply(LoadedModel model, WeightQuantization kind)
    {
        if (model.Quantization is { } existing)
        {
            // Quantizing already-quantized values again would only add error: the same format is a no-op, another refused.
            return kind == WeightQuantization.None || kind == existing.Kind
                ? model
                : throw new ModelLoadException(
                    $"{model.Path} is already quantized ({existing.Description}); --quantization {kind.Name()} would quantize it again: "
                    + $"drop --quantization or pass {existing.Kind.Name()}");
        }

        if (kind == WeightQuantization.None)
        {
            return model;
        }

        var config = model.Config;
        var linears = QuantizeOnLoadWeightSource.DecoderLinears(config).ToHashSet(StringComparer.Ordinal);
        var storedBytes = WeightManifest.For(config).Sum(t => linears.Contains(t.Name)
            ? WeightQuantizer.StoredBytes(kind, t.Shape[0], t.Shape[1])
            : model.Weights.GetInfo(t.Name).ByteCount);
        return new LoadedModel(config, new QuantizeOnLoadWeightSource(model.Weights, config, kind), model.Path)
        {
            Quantization = new ModelQuantization { Kind = kind, StoredBytes = storedBytes, Unquantized = model.Weights, Description = $"{Describe(kind, config)}, quantized on load" },
        };
    }

    /// <summary>int4's groups: 128 inputs, or whole rows in layers whose input width 128 does not divide.</summary>
    private static string Describe(WeightQuantization kind, ModelConfig config)
    {
        if (kind != WeightQuantization.Int4)
        {
            return kind.Name();
        }

        var grouped = new[] { config.HiddenSize, config.QueryDim, config.IntermediateSize }.Select(width => WeightQuantizer.Int4Group(width) == WeightQuantizer.Int4GroupSize).Distinct().ToArray();
        return grouped.Length == 2 ? $"int4 g{WeightQuantizer.Int4GroupSize} (per-row where 128 does not divide the inputs)"
            : grouped[0] ? $"int4 g{WeightQuantizer.Int4GroupSize}" : "int4 per-row (128 does not divide the inputs)";
    }
}
