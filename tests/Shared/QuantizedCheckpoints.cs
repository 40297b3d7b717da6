using System.Runtime.InteropServices;
using Brim.Models;

namespace Brim.Tests;

/// <summary>The packed formats <see cref="QuantizedCheckpoints"/> writes.</summary>
public enum PackedFormat
{
    Awq,
    Gptq4,
    Gptq8,

    /// <summary>quant_method fp8: one F32 scale per tensor (shape []).</summary>
    Fp8PerTensor,

    /// <summary>compressed-tensors float-quantized, strategy channel: weight_scale [out, 1].</summary>
    CompressedTensorsPerChannel,
}

/// <summary>
/// Writes tiny random Llama checkpoints in each quantized format, packed here by the formats' published layouts
/// (independently of Brim's unpackers), and returns the float32 weights a correct loader must produce: linear layers as
/// (q - z) × s or e4m3(code) × s computed from the codes drawn, every other tensor as stored (f16). Linked into each test
/// project that needs it.
/// </summary>
internal static class QuantizedCheckpoints
{
    /// <summary>Inputs per group: divides the tiny model's 32 and 64.</summary>
    public const int GroupSize = 16;

    public static readonly ModelConfig Config = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        HeadDim = 8,
        VocabSize = 512,
        MaxPositions = 64,
        RmsNormEps = 1e-5f,
        TieWordEmbeddings = true,
        WeightDType = TensorDType.F16,
    };

    /// <summary>AutoAWQ's packing order: nibble k of a word holds column AwqOrder[k] of its eight.</summary>
    private static readonly int[] AwqOrder = [0, 2, 4, 6, 1, 3, 5, 7];

    public static string ConfigJson(string? quantizationConfig, string dtype = "float16") => $$"""
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 64, "rms_norm_eps": 1e-05,
         "tie_word_embeddings": true, "torch_dtype": "{{dtype}}", "eos_token_id": 2, "hidden_act": "silu"{{(quantizationConfig is null ? string.Empty : $", \"quantization_config\": {quantizationConfig}")}}}
        """;

    public static string QuantizationConfig(PackedFormat format, int groupSize = GroupSize) => format switch
    {
        PackedFormat.Awq => $$"""{"quant_method": "awq", "version": "gemm", "bits": 4, "group_size": {{groupSize}}, "zero_point": true}""",
        PackedFormat.Gptq4 => $$"""{"quant_method": "gptq", "bits": 4, "group_size": {{groupSize}}, "desc_act": false, "sym": true}""",
        PackedFormat.Gptq8 => $$"""{"quant_method": "gptq", "bits": 8, "group_size": {{groupSize}}, "desc_act": false, "sym": true}""",
        PackedFormat.Fp8PerTensor => """{"quant_method": "fp8", "activation_scheme": "dynamic"}""",
        PackedFormat.CompressedTensorsPerChannel => """
            {"quant_method": "compressed-tensors", "format": "float-quantized", "ignore": ["lm_head"],
             "config_groups": {"group_0": {"targets": ["Linear"],
               "weights": {"num_bits": 8, "type": "float", "strategy": "channel", "symmetric": true, "dynamic": false},
               "input_activations": {"num_bits": 8, "type": "float", "strategy": "token", "symmetric": true, "dynamic": true}}}}
            """,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>
    /// Writes config.json and model.safetensors of <paramref name="format"/> into <paramref name="directory"/>; returns the
    /// expected float32 value of every tensor of the manifest. <paramref name="omit"/> leaves one stored tensor out;
    /// <paramref name="tamper"/> replaces the int32 words of a tensor (by name) before they are written.
    /// </summary>
    public static Dictionary<string, float[]> Write(
        string directory, PackedFormat format, int seed = 11, string? omit = null, string? quantizationConfig = null, int groupSize = GroupSize, Func<string, int[], int[]>? tamper = null)
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson(quantizationConfig ?? QuantizationConfig(format, groupSize)));
        var random = new Random(seed);
        var writer = new Writer(omit, tamper);
        var expected = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var tensor in WeightManifest.For(Config))
        {
            var isLinear = tensor.Shape.Length == 2 && tensor.Name != LlamaTensorNames.Embedding;
            if (!isLinear)
            {
                var values = RoundToHalf(Enumerable.Range(0, (int)tensor.ElementCount).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray());
                writer.Sink.Add(tensor.Name, TensorDType.F16, tensor.Shape, values);
                expected[tensor.Name] = values;
                continue;
            }

            var prefix = tensor.Name[..^".weight".Length];
            int outFeatures = (int)tensor.Shape[0], inFeatures = (int)tensor.Shape[1];
            expected[tensor.Name] = format switch
            {
                PackedFormat.Awq => WriteAwq(writer, random, prefix, outFeatures, inFeatures, groupSize == -1 ? inFeatures : groupSize),
                PackedFormat.Gptq4 => WriteGptq(writer, random, prefix, outFeatures, inFeatures, bits: 4, groupSize == -1 ? inFeatures : groupSize),
                PackedFormat.Gptq8 => WriteGptq(writer, random, prefix, outFeatures, inFeatures, bits: 8, groupSize == -1 ? inFeatures : groupSize),
                _ => WriteFp8(writer, random, prefix, outFeatures, inFeatures, perChannel: format == PackedFormat.CompressedTensorsPerChannel),
            };
        }

        writer.Sink.Write(Path.Combine(directory, "model.safetensors"));
        return expected;
    }

    /// <summary>
    /// <see cref="Write"/> into a temporary directory of its own, then <see cref="ModelLoader.Load"/>: disposing the
    /// result unloads the model and deletes the directory.
    /// </summary>
    public static LoadedCheckpoint WriteAndLoad(PackedFormat format, int seed = 11, int groupSize = GroupSize)
    {
        var directory = Directory.CreateTempSubdirectory("brim-quantized-").FullName;
        try
        {
            var expected = Write(directory, format, seed, groupSize: groupSize);
            return new LoadedCheckpoint(directory, ModelLoader.Load(directory), expected);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Writes <paramref name="weights"/> as a float32 checkpoint without quantization_config.</summary>
    public static void WriteFloat32(string directory, IReadOnlyDictionary<string, float[]> weights)
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson(null, "float32"));
        var writer = new SafetensorsWriter();
        foreach (var tensor in WeightManifest.For(Config))
        {
            writer.Add(tensor.Name, TensorDType.F32, tensor.Shape, weights[tensor.Name]);
        }

        writer.Write(Path.Combine(directory, "model.safetensors"));
    }

    /// <summary>Packs eight 4-bit codes of one row of [rows, cols] into AWQ words [rows, cols / 8].</summary>
    public static int[] PackAwq(int[,] codes)
    {
        int rows = codes.GetLength(0), words = codes.GetLength(1) / 8;
        var packed = new int[rows * words];
        for (var r = 0; r < rows; r++)
        {
            for (var w = 0; w < words; w++)
            {
                uint word = 0;
                for (var k = 0; k < 8; k++)
                {
                    word |= (uint)codes[r, (w * 8) + AwqOrder[k]] << (4 * k);
                }

                packed[(r * words) + w] = (int)word;
            }
        }

        return packed;
    }

    /// <summary>GPTQ qweight: codes [in, out] packed along the input dimension, lowest bits first, into [in × bits / 32, out].</summary>
    public static int[] PackGptqRows(int[,] codes, int bits)
    {
        int rows = codes.GetLength(0), cols = codes.GetLength(1), pack = 32 / bits;
        var packed = new int[rows / pack * cols];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                packed[(r / pack * cols) + c] |= (int)((uint)codes[r, c] << (bits * (r % pack)));
            }
        }

        return packed;
    }

    /// <summary>GPTQ qzeros: values [groups, out] packed along the output dimension into [groups, out × bits / 32].</summary>
    public static int[] PackGptqColumns(int[,] values, int bits)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1), pack = 32 / bits;
        var packed = new int[rows * (cols / pack)];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                packed[(r * (cols / pack)) + (c / pack)] |= (int)((uint)values[r, c] << (bits * (c % pack)));
            }
        }

        return packed;
    }

    /// <summary>The value of an E4M3 (fn) code, from the format's definition.</summary>
    public static float DecodeE4M3(byte code)
    {
        int exponent = (code >> 3) & 0xF, mantissa = code & 7;
        var magnitude = exponent == 0 ? Math.ScaleB(mantissa / 8.0, -6) : Math.ScaleB(1 + (mantissa / 8.0), exponent - 7);
        return (float)((code & 0x80) != 0 ? -magnitude : magnitude);
    }

    public static float[] RoundToHalf(float[] values) => values.Select(v => (float)(Half)v).ToArray();

    private static float[] WriteAwq(Writer writer, Random random, string prefix, int outFeatures, int inFeatures, int group)
    {
        var groups = inFeatures / group;
        var codes = RandomCodes(random, inFeatures, outFeatures, 16);
        var zeros = RandomCodes(random, groups, outFeatures, 16);
        var scales = RandomScales(random, groups * outFeatures);
        writer.AddInts(prefix + ".qweight", [inFeatures, outFeatures / 8], PackAwq(codes));
        writer.AddInts(prefix + ".qzeros", [groups, outFeatures / 8], PackAwq(zeros));
        writer.AddHalf(prefix + ".scales", [groups, outFeatures], scales);
        return Expected(outFeatures, inFeatures, (o, i) => (codes[i, o] - zeros[i / group, o]) * scales[(i / group * outFeatures) + o]);
    }

    private static float[] WriteGptq(Writer writer, Random random, string prefix, int outFeatures, int inFeatures, int bits, int group)
    {
        var groups = inFeatures / group;
        var pack = 32 / bits;
        var codes = RandomCodes(random, inFeatures, outFeatures, 1 << bits);
        var stored = new int[groups, outFeatures];
        var zero = 1 << (bits - 1);
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                stored[g, o] = zero - 1; // v1 stores zero - 1; sym means zero = 2^(bits-1)
            }
        }

        var scales = RandomScales(random, groups * outFeatures);
        writer.AddInts(prefix + ".qweight", [inFeatures / pack, outFeatures], PackGptqRows(codes, bits));
        writer.AddInts(prefix + ".qzeros", [groups, outFeatures / pack], PackGptqColumns(stored, bits));
        writer.AddHalf(prefix + ".scales", [groups, outFeatures], scales);
        writer.AddInts(prefix + ".g_idx", [inFeatures], Enumerable.Range(0, inFeatures).Select(i => i / group).ToArray());
        return Expected(outFeatures, inFeatures, (o, i) => (codes[i, o] - zero) * scales[(i / group * outFeatures) + o]);
    }

    private static float[] WriteFp8(Writer writer, Random random, string prefix, int outFeatures, int inFeatures, bool perChannel)
    {
        var codes = new byte[outFeatures * inFeatures];
        for (var k = 0; k < codes.Length; k++)
        {
            do
            {
                codes[k] = (byte)random.Next(256);
            }
            while ((codes[k] & 0x7F) == 0x7F); // S.1111.111 is NaN
        }

        var scales = Enumerable.Range(0, perChannel ? outFeatures : 1).Select(_ => (float)(0.0005 + (random.NextDouble() * 0.002))).ToArray();
        writer.AddRaw(prefix + ".weight", TensorDType.F8E4M3, [outFeatures, inFeatures], codes);
        writer.Sink.Add(prefix + ".weight_scale", TensorDType.F32, perChannel ? [outFeatures, 1] : [], scales);
        return Expected(outFeatures, inFeatures, (o, i) => DecodeE4M3(codes[(o * inFeatures) + i]) * scales[perChannel ? o : 0]);
    }

    private static int[,] RandomCodes(Random random, int rows, int cols, int levels)
    {
        var codes = new int[rows, cols];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                codes[r, c] = random.Next(levels);
            }
        }

        return codes;
    }

    /// <summary>f16 scales, as the checkpoints store them, returned as the float32 values they hold.</summary>
    private static float[] RandomScales(Random random, int count) =>
        RoundToHalf(Enumerable.Range(0, count).Select(_ => (float)(0.001 + (random.NextDouble() * 0.01))).ToArray());

    private static float[] Expected(int outFeatures, int inFeatures, Func<int, int, float> value)
    {
        var weight = new float[outFeatures * inFeatures];
        for (var o = 0; o < outFeatures; o++)
        {
            for (var i = 0; i < inFeatures; i++)
            {
                weight[(o * inFeatures) + i] = value(o, i);
            }
        }

        return weight;
    }

    /// <summary>A <see cref="SafetensorsWriter"/> that can leave one tensor out (to test a missing one).</summary>
    private sealed class Writer(string? omit, Func<string, int[], int[]>? tamper)
    {
        public SafetensorsWriter Sink { get; } = new();

        public void AddInts(string name, long[] shape, int[] values) =>
            AddRaw(name, TensorDType.I32, shape, MemoryMarshal.AsBytes((tamper?.Invoke(name, values) ?? values).AsSpan()));

        public void AddHalf(string name, long[] shape, float[] values)
        {
            if (name != omit)
            {
                Sink.Add(name, TensorDType.F16, shape, values);
            }
        }

        public void AddRaw(string name, TensorDType dtype, long[] shape, ReadOnlySpan<byte> bytes)
        {
            if (name != omit)
            {
                Sink.AddRaw(name, dtype, shape, bytes);
            }
        }
    }
}

/// <summary>A checkpoint <see cref="QuantizedCheckpoints.WriteAndLoad"/> wrote and loaded, with the float32 weights it must produce.</summary>
internal sealed class LoadedCheckpoint(string directory, LoadedModel model, Dictionary<string, float[]> expected) : IDisposable
{
    public LoadedModel Model { get; } = model;

    public Dictionary<string, float[]> Expected { get; } = expected;

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(directory, recursive: true);
    }
}
