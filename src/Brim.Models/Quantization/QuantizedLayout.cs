namespace Brim.Models;

/// <summary>
/// Finds the quantized linear layers of a checkpoint and checks their raw tensors (presence, dtype, shape, GPTQ's g_idx)
/// against the <see cref="WeightManifest"/>, so a malformed checkpoint fails at startup naming the tensor. A linear the
/// checkpoint keeps in float (lm_head, usually) is not quantized and reads as it is.
/// </summary>
internal static class QuantizedLayout
{
    public static IReadOnlyList<QuantizedLinear> Find(IWeightSource raw, ModelConfig config, QuantizationScheme scheme, string origin)
    {
        var layers = new List<QuantizedLinear>();
        foreach (var tensor in WeightManifest.For(config).Where(t => t.Shape.Length == 2 && t.Name != LlamaTensorNames.Embedding))
        {
            var layer = scheme.Method == QuantizationMethod.Fp8
                ? FindFp8(raw, scheme, tensor, origin)
                : FindInt(raw, scheme, tensor, origin);
            if (layer is not null)
            {
                layers.Add(layer);
            }
        }

        if (layers.Count == 0)
        {
            throw new ModelLoadException($"{origin}: config.json says {scheme.QuantMethod} but no linear layer holds quantized tensors");
        }

        return layers;
    }

    private static QuantizedLinear? FindInt(IWeightSource raw, QuantizationScheme scheme, TensorInfo tensor, string origin)
    {
        var prefix = Prefix(tensor.Name);
        var codes = prefix + ".qweight";
        if (!raw.Contains(codes))
        {
            return null;
        }

        int outFeatures = (int)tensor.Shape[0], inFeatures = (int)tensor.Shape[1];
        var layer = new QuantizedLinear
        {
            WeightName = tensor.Name, Scheme = scheme, OutFeatures = outFeatures, InFeatures = inFeatures,
            Codes = codes, Zeros = prefix + ".qzeros", Scales = prefix + ".scales",
            GroupIndex = scheme.Method == QuantizationMethod.Gptq && raw.Contains(prefix + ".g_idx") ? prefix + ".g_idx" : null,
        };
        var group = layer.GroupWidth;
        var pack = 32 / scheme.Bits;
        if (inFeatures % group != 0 || outFeatures % pack != 0 || (scheme.Method == QuantizationMethod.Gptq && inFeatures % pack != 0))
        {
            throw new ModelLoadException(
                $"{origin}: {prefix} is [{outFeatures}, {inFeatures}]: {scheme.QuantMethod} needs inputs in whole groups of {group} and dimensions in whole int32 words of {pack} codes");
        }

        long groups = inFeatures / group;
        var missing = new[] { layer.Zeros, layer.Scales }.Where(n => !raw.Contains(n)).ToArray();
        if (missing.Length > 0)
        {
            throw new ModelLoadException($"{origin}: missing tensor {string.Join(", ", missing)}: a {scheme.QuantMethod} layer needs qweight, qzeros and scales");
        }

        if (scheme.Method == QuantizationMethod.Awq)
        {
            Expect(raw, codes, TensorDType.I32, origin, inFeatures, outFeatures / pack);
        }
        else
        {
            Expect(raw, codes, TensorDType.I32, origin, inFeatures / pack, outFeatures);
        }

        Expect(raw, layer.Zeros, TensorDType.I32, origin, groups, outFeatures / pack);
        Expect(raw, layer.Scales, null, origin, groups, outFeatures);
        if (layer.GroupIndex is { } gIdx)
        {
            CheckTrivialGroupIndex(raw, gIdx, inFeatures, group, origin);
        }

        return layer;
    }

    private static QuantizedLinear? FindFp8(IWeightSource raw, QuantizationScheme scheme, TensorInfo tensor, string origin)
    {
        if (!raw.Contains(tensor.Name) || raw.GetInfo(tensor.Name).DType != TensorDType.F8E4M3)
        {
            return null;
        }

        var prefix = Prefix(tensor.Name);
        int outFeatures = (int)tensor.Shape[0], inFeatures = (int)tensor.Shape[1];
        var scales = prefix + ".weight_scale";
        var inputScale = prefix + ".input_scale";
        if (!raw.Contains(scales))
        {
            throw new ModelLoadException($"{origin}: missing tensor {scales}: an fp8 layer needs weight and weight_scale");
        }

        if (scheme.ActivationScheme == "static" && !raw.Contains(inputScale))
        {
            throw new ModelLoadException($"{origin}: missing tensor {inputScale}: activation_scheme static needs an input scale per layer");
        }

        Expect(raw, tensor.Name, TensorDType.F8E4M3, origin, outFeatures, inFeatures);
        var scaleInfo = raw.GetInfo(scales);
        if (!scaleInfo.DType.IsFloat() || (scaleInfo.ElementCount != 1 && scaleInfo.ElementCount != outFeatures))
        {
            throw new ModelLoadException($"{origin}: tensor {scaleInfo} must be a float scale per tensor (1 value) or per output channel ({outFeatures} values)");
        }

        return new QuantizedLinear
        {
            WeightName = tensor.Name, Scheme = scheme, OutFeatures = outFeatures, InFeatures = inFeatures,
            Codes = tensor.Name, Scales = scales, InputScale = raw.Contains(inputScale) ? inputScale : null,
        };
    }

    /// <summary>desc_act false means inputs are in their own order: g_idx[i] must be i / group.</summary>
    private static void CheckTrivialGroupIndex(IWeightSource raw, string name, int inFeatures, int group, string origin)
    {
        Expect(raw, name, TensorDType.I32, origin, inFeatures);
        var values = QuantizedLinear.ReadInts(raw, name);
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] != i / group)
            {
                throw new ModelLoadException($"{origin}: tensor {name}[{i}] is {values[i]}, not {i / group}: the inputs are reordered (act-order), which desc_act false rules out");
            }
        }
    }

    /// <summary>A missing <paramref name="dtype"/> means any float type (scales are f16 in AWQ/GPTQ, sometimes bf16 or f32).</summary>
    private static void Expect(IWeightSource raw, string name, TensorDType? dtype, string origin, params long[] shape)
    {
        var info = raw.GetInfo(name);
        var typeOk = dtype is { } d ? info.DType == d : info.DType.IsFloat();
        if (!typeOk || !info.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new ModelLoadException(
                $"{origin}: tensor {info} does not match its layer: expected {(dtype is { } t ? t.SafetensorsName() : "a float type")}[{string.Join(", ", shape)}]");
        }
    }

    private static string Prefix(string weightName) => weightName[..^".weight".Length];
}
