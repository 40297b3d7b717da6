using System.Buffers.Binary;
using System.Text.Json;

namespace Brim.Models;

/// <summary>One entry of a safetensors header whose dtype Brim cannot read (I8, I64, F8_E5M2, ...): an error only if it is needed.</summary>
internal sealed record UnsupportedTensor(string Name, string DType, string File);

/// <summary>
/// Parses a safetensors file's header: a u64 little-endian length N, then N bytes of JSON
/// <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}</c>; offsets are relative to the end
/// of the header. Every range is checked against the file, so a truncated file fails here, not in a backend.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The format's own limit on the header size; a larger length means a corrupt file.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    public static (List<MappedTensor> Tensors, List<UnsupportedTensor> Unsupported) Parse(MappedFile file)
    {
        if (file.Length < sizeof(ulong))
        {
            throw new ModelLoadException($"{file.Path}: {file.Length} bytes is too short for a safetensors file");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, sizeof(ulong)));
        var dataStart = sizeof(ulong) + (long)Math.Min(headerLength, MaxHeaderBytes + 1);
        if (headerLength > MaxHeaderBytes || dataStart > file.Length)
        {
            throw new ModelLoadException($"{file.Path}: safetensors header length {headerLength} does not fit the file ({file.Length} bytes; truncated or not safetensors)");
        }

        using var json = ParseJson(file, file.Span(sizeof(ulong), (int)headerLength));
        if (json.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException($"{file.Path}: malformed safetensors header: expected a JSON object");
        }

        var tensors = new List<MappedTensor>();
        var unsupported = new List<UnsupportedTensor>();
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                continue;
            }

            var (dtypeName, shape, begin, end) = ReadEntry(file, entry);
            if (!TryParseDType(dtypeName, out var dtype))
            {
                unsupported.Add(new UnsupportedTensor(entry.Name, dtypeName, file.Path));
                continue;
            }

            var info = new TensorInfo(entry.Name, dtype, shape);
            if (end - begin != info.ByteCount)
            {
                throw new ModelLoadException($"{file.Path}: tensor {info} spans {end - begin} bytes, its shape needs {info.ByteCount}");
            }

            if (dataStart + end > file.Length)
            {
                throw new ModelLoadException($"{file.Path} is truncated: tensor {entry.Name} ends at byte {dataStart + end}, the file has {file.Length}");
            }

            tensors.Add(new MappedTensor(info, file, dataStart + begin));
        }

        return (tensors, unsupported);
    }

    public static bool TryParseDType(string name, out TensorDType dtype)
    {
        (var known, dtype) = name switch
        {
            "F32" => (true, TensorDType.F32),
            "F16" => (true, TensorDType.F16),
            "BF16" => (true, TensorDType.BF16),
            "I32" => (true, TensorDType.I32),
            "F8_E4M3" => (true, TensorDType.F8E4M3),
            _ => (false, default),
        };
        return known;
    }

    private static (string DType, long[] Shape, long Begin, long End) ReadEntry(MappedFile file, JsonProperty entry)
    {
        var value = entry.Value;
        ModelLoadException Malformed(string what) => new($"{file.Path}: malformed safetensors header entry {entry.Name}: {what}");

        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw Malformed("expected {dtype, shape, data_offsets: [begin, end]}");
        }

        static bool IsCount(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) && v >= 0;
        if (!shape.EnumerateArray().All(IsCount) || !offsets.EnumerateArray().All(IsCount))
        {
            throw Malformed("shape and data_offsets must be non-negative integers");
        }

        var begin = offsets[0].GetInt64();
        var end = offsets[1].GetInt64();
        if (end < begin)
        {
            throw Malformed($"data_offsets [{begin}, {end}] end before they begin");
        }

        return (dtype.GetString()!, shape.EnumerateArray().Select(e => e.GetInt64()).ToArray(), begin, end);
    }

    private static JsonDocument ParseJson(MappedFile file, ReadOnlySpan<byte> header)
    {
        try
        {
            var bytes = header.ToArray();
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{file.Path}: malformed safetensors header JSON: {e.Message}", e);
        }
    }
}
