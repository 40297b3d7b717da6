using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace Brim.Models;

/// <summary>
/// Writes safetensors files that transformers and <see cref="ModelLoader"/> read: F32, F16 and BF16 tensors (and, raw, the I32
/// and F8_E4M3 tensors of quantized checkpoints), the header
/// padded with spaces to 8 bytes and tensors ordered by element size (4-byte first) so every tensor starts aligned to its
/// element size, with no holes between them (the format forbids holes). Tensors are held in memory until written: meant
/// for tools and tests that build small or medium checkpoints.
/// </summary>
public sealed class SafetensorsWriter
{
    private const int HeaderAlignment = 8;

    private readonly List<(TensorInfo Info, byte[] Bytes)> _tensors = [];

    /// <summary>The header's "__metadata__" (string to string); transformers expects format = pt.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };

    /// <summary>Adds a tensor from float32 values, rounded to <paramref name="dtype"/> (nearest even).</summary>
    public SafetensorsWriter Add(string name, TensorDType dtype, long[] shape, ReadOnlySpan<float> values)
    {
        var info = new TensorInfo(name, dtype, shape);
        if (values.Length != info.ElementCount)
        {
            throw new ArgumentException($"{values.Length} values given for {info} ({info.ElementCount} elements)", nameof(values));
        }

        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromFloat32(values, dtype, bytes);
        return AddChecked(info, bytes);
    }

    /// <summary>Adds a tensor from its stored little-endian bytes.</summary>
    public SafetensorsWriter AddRaw(string name, TensorDType dtype, long[] shape, ReadOnlySpan<byte> stored)
    {
        var info = new TensorInfo(name, dtype, shape);
        if (stored.Length != info.ByteCount)
        {
            throw new ArgumentException($"{stored.Length} bytes given for {info} ({info.ByteCount} bytes)", nameof(stored));
        }

        return AddChecked(info, stored.ToArray());
    }

    /// <summary>Writes every tensor into one file.</summary>
    public void Write(string path) => WriteFile(path, _tensors);

    /// <summary>
    /// Splits the tensors over <paramref name="shardCount"/> files named as transformers names them
    /// (model-00001-of-00002.safetensors, ...) and writes model.safetensors.index.json mapping each tensor to its file.
    /// </summary>
    public void WriteSharded(string directory, int shardCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardCount, Math.Max(1, _tensors.Count));
        Directory.CreateDirectory(directory);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var perShard = (_tensors.Count + shardCount - 1) / shardCount;
        for (var shard = 0; shard < shardCount; shard++)
        {
            var fileName = string.Create(CultureInfo.InvariantCulture, $"model-{shard + 1:D5}-of-{shardCount:D5}.safetensors");
            var tensors = _tensors.Skip(shard * perShard).Take(perShard).ToList();
            WriteFile(Path.Combine(directory, fileName), tensors);
            tensors.ForEach(t => weightMap[t.Info.Name] = fileName);
        }

        using var stream = File.Create(Path.Combine(directory, SafetensorsCheckpoint.IndexFileName));
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_size", _tensors.Sum(t => t.Info.ByteCount));
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach (var (name, file) in weightMap)
        {
            json.WriteString(name, file);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private SafetensorsWriter AddChecked(TensorInfo info, byte[] bytes)
    {
        if (info.Name == "__metadata__" || _tensors.Exists(t => t.Info.Name == info.Name))
        {
            throw new ArgumentException($"tensor name {info.Name} is reserved or already added", nameof(info));
        }

        if (info.Shape.Any(d => d < 0))
        {
            throw new ArgumentException($"{info} has a negative dimension", nameof(info));
        }

        _tensors.Add((info, bytes));
        return this;
    }

    private void WriteFile(string path, List<(TensorInfo Info, byte[] Bytes)> tensors)
    {
        // Widest elements first: every offset then stays a multiple of the element size that follows it.
        var ordered = tensors.OrderByDescending(t => t.Info.DType.ByteSize()).ToList();
        var header = BuildHeader(ordered);
        var padded = (header.Length + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment;

        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(header);
        for (var i = header.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var (_, bytes) in ordered)
        {
            stream.Write(bytes);
        }
    }

    private byte[] BuildHeader(List<(TensorInfo Info, byte[] Bytes)> ordered)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in Metadata)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            long offset = 0;
            foreach (var (info, bytes) in ordered)
            {
                json.WriteStartObject(info.Name);
                json.WriteString("dtype", info.DType.SafetensorsName());
                json.WriteStartArray("shape");
                Array.ForEach(info.Shape, json.WriteNumberValue);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes.Length;
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
