namespace Brim.Models;

/// <summary>
/// Reads config.json's <c>quantization_config</c> into a <see cref="QuantizationScheme"/>, refusing every method, bit
/// width and option Brim would get wrong, by field name and value, at startup rather than as garbage text later.
/// </summary>
internal static class QuantizationConfigReader
{
    private const string Field = "quantization_config";
    private const string Supported = "Brim loads fp8, compressed-tensors (float-quantized), awq (gemm, 4-bit) and gptq (4- or 8-bit, desc_act false)";

    /// <summary>The scheme of a quantized checkpoint; null when config.json has no quantization_config.</summary>
    public static QuantizationScheme? Read(JsonFields config)
    {
        if (config.OptionalObject(Field) is not { } q)
        {
            return null;
        }

        var method = q.OptionalString("quant_method") ?? throw Refuse(config, "quant_method is missing");
        return method switch
        {
            "fp8" => ReadFp8(config, q),
            "compressed-tensors" => ReadCompressedTensors(config, q),
            "awq" => ReadAwq(config, q),
            "gptq" => ReadGptq(config, q),
            _ => throw Refuse(config, $"quant_method '{method}' is not supported"),
        };
    }

    private static QuantizationScheme ReadFp8(JsonFields config, JsonFields q)
    {
        if (q.Has("weight_block_size"))
        {
            throw Refuse(config, "weight_block_size is set (block-wise FP8 scales) and is not supported; fp8 checkpoints need per-tensor or per-channel scales");
        }

        var format = q.OptionalString("fmt") ?? "e4m3";
        if (format != "e4m3")
        {
            throw Refuse(config, $"fmt '{format}' is not supported for fp8 (e4m3)");
        }

        return new QuantizationScheme
        {
            Method = QuantizationMethod.Fp8, QuantMethod = "fp8", Bits = 8, ActivationScheme = ActivationScheme(config, q.OptionalString("activation_scheme") ?? "dynamic"),
        };
    }

    private static QuantizationScheme ReadCompressedTensors(JsonFields config, JsonFields q)
    {
        var format = q.OptionalString("format");
        if (format != "float-quantized")
        {
            throw Refuse(config, $"format '{format}' is not supported for compressed-tensors (float-quantized: FP8 weights)");
        }

        var groups = q.OptionalObjectMembers("config_groups");
        if (groups is null || groups.Count == 0)
        {
            throw Refuse(config, "config_groups is missing for compressed-tensors");
        }

        string? activations = null;
        foreach (var (name, group) in groups)
        {
            var weights = group.OptionalObject("weights") ?? throw Refuse(config, $"config_groups.{name}.weights is missing");
            var bits = weights.OptionalInt("num_bits");
            var type = weights.OptionalString("type");
            var strategy = weights.OptionalString("strategy");
            if (bits != 8 || type != "float")
            {
                throw Refuse(config, $"config_groups.{name}.weights num_bits {bits} type '{type}' is not supported for compressed-tensors (8-bit float)");
            }

            if (strategy is not ("tensor" or "channel"))
            {
                throw Refuse(config, $"config_groups.{name}.weights.strategy '{strategy}' is not supported (tensor or channel)");
            }

            if (weights.OptionalBool("dynamic") == true || weights.OptionalBool("symmetric") == false)
            {
                throw Refuse(config, $"config_groups.{name}.weights must be static and symmetric (stored scales, no zero point)");
            }

            // No input_activations: weight-only FP8, whose activations stay in the model's precision (dynamic: nothing stored).
            var input = group.OptionalObject("input_activations");
            var scheme = input is null || input.OptionalBool("dynamic") != false ? "dynamic" : "static";
            if (activations is not null && activations != scheme)
            {
                throw Refuse(config, "config_groups mix dynamic and static activation scales; Brim needs one scheme for the model");
            }

            activations = scheme;
        }

        return new QuantizationScheme { Method = QuantizationMethod.Fp8, QuantMethod = "compressed-tensors", Bits = 8, ActivationScheme = activations };
    }

    private static QuantizationScheme ReadAwq(JsonFields config, JsonFields q)
    {
        var version = q.OptionalString("version") ?? "gemm";
        if (!version.Equals("gemm", StringComparison.OrdinalIgnoreCase))
        {
            throw Refuse(config, $"version '{version}' is not supported for awq (gemm)");
        }

        var bits = q.OptionalInt("bits") ?? q.OptionalInt("w_bit") ?? throw Refuse(config, "bits is missing for awq");
        if (bits != 4)
        {
            throw Refuse(config, $"bits {bits} is not supported for awq (4)");
        }

        if ((q.OptionalBool("zero_point") ?? true) == false)
        {
            throw Refuse(config, "zero_point false is not supported for awq (AWQ GEMM checkpoints carry zero points)");
        }

        return new QuantizationScheme { Method = QuantizationMethod.Awq, QuantMethod = "awq", Bits = 4, GroupSize = GroupSize(config, q.OptionalInt("group_size") ?? q.OptionalInt("q_group_size")) };
    }

    private static QuantizationScheme ReadGptq(JsonFields config, JsonFields q)
    {
        var bits = q.OptionalInt("bits") ?? throw Refuse(config, "bits is missing for gptq");
        if (bits is not (4 or 8))
        {
            throw Refuse(config, $"bits {bits} is not supported for gptq (4 or 8)");
        }

        if (q.OptionalBool("desc_act") == true)
        {
            throw Refuse(config, "desc_act true (act-order GPTQ) is not supported");
        }

        if (q.OptionalBool("sym") == false)
        {
            throw Refuse(config, "sym false is not supported for gptq (symmetric only)");
        }

        // v1 stores each zero point minus one (the kernels add it back); v2 stores it as is. Brim reads v1, what the Hub holds.
        var checkpointFormat = q.OptionalString("checkpoint_format") ?? "gptq";
        if (checkpointFormat != "gptq")
        {
            throw Refuse(config, $"checkpoint_format '{checkpointFormat}' is not supported for gptq (gptq)");
        }

        return new QuantizationScheme { Method = QuantizationMethod.Gptq, QuantMethod = "gptq", Bits = bits, GroupSize = GroupSize(config, q.OptionalInt("group_size")) };
    }

    private static int GroupSize(JsonFields config, int? groupSize) => groupSize switch
    {
        null => throw Refuse(config, "group_size is missing"),
        -1 => -1,
        > 0 => groupSize.Value,
        _ => throw Refuse(config, $"group_size {groupSize} is not supported (a positive size, or -1 for one group per row)"),
    };

    private static string ActivationScheme(JsonFields config, string scheme) =>
        scheme is "dynamic" or "static" ? scheme : throw Refuse(config, $"activation_scheme '{scheme}' is not supported (dynamic or static)");

    private static ModelLoadException Refuse(JsonFields config, string what) => new($"{config.Origin}: {Field}.{what}; {Supported}");
}
