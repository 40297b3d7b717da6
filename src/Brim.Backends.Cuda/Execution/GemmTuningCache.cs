using System.Globalization;
using System.Text.Json;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// The tuner's choices kept on disk between starts, per device and library (<see cref="DeviceKey"/>): a shape timed once
/// is not timed again, so two starts of the same model on the same machine run the same algorithms (where candidates
/// tie within the timing noise, fresh timings could pick differently, and a product's rounding depends on its
/// algorithm) and start faster. A cuBLASLt descriptor is only meaningful to the library that wrote it, hence the key:
/// another card, driver or cuBLAS version tunes afresh and adds its own entries beside these. The file is JSON, written
/// whole to a temporary file and renamed over the old one, so a reader sees either; an unreadable file is reported in
/// <see cref="Problem"/> and treated as empty (the next save replaces it).
/// </summary>
internal sealed class GemmTuningCache
{
    public const string FileName = "gemm-tuning.json";
    private const int FormatVersion = 1;

    private readonly Dictionary<(string Device, GemmShape Shape), GemmTuning> _entries = [];

    private GemmTuningCache(string? path, string deviceKey)
    {
        Path = path;
        DeviceKey = deviceKey;
    }

    /// <summary>The file, or null for a cache that lives only in memory.</summary>
    public string? Path { get; }

    /// <summary>Device name, compute capability, driver and cuBLASLt versions: the entries of this process.</summary>
    public string DeviceKey { get; }

    /// <summary>Why the file on disk was not used, or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>Entries of this device (restored or added since).</summary>
    public int Count => _entries.Keys.Count(k => k.Device == DeviceKey);

    public static string DeviceKeyOf(string deviceName, int computeCapability, int driverVersion, ulong cublasLtVersion)
        => $"{deviceName} | sm_{computeCapability} | driver {driverVersion} | cublasLt {cublasLtVersion}";

    /// <summary>Reads <paramref name="path"/> if it exists (null: nothing on disk, nothing saved).</summary>
    public static GemmTuningCache Open(string? path, string deviceKey)
    {
        var cache = new GemmTuningCache(path, deviceKey);
        if (path is not null && File.Exists(path))
        {
            try
            {
                cache.Read(File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
            {
                cache._entries.Clear();
                cache.Problem = $"{path} was not used ({e.Message}); shapes are timed afresh and the file rewritten";
            }
        }

        return cache;
    }

    public bool TryGet(GemmShape shape, out GemmTuning tuning) => _entries.TryGetValue((DeviceKey, shape), out tuning!);

    public void Put(GemmTuning tuning) => _entries[(DeviceKey, tuning.Shape)] = tuning;

    /// <summary>Drops this device's entries (they are timed afresh and saved again); other devices' stay.</summary>
    public void ForgetThisDevice()
    {
        foreach (var key in _entries.Keys.Where(k => k.Device == DeviceKey).ToArray())
        {
            _entries.Remove(key);
        }
    }

    /// <summary>Writes every entry (other devices' included) atomically; false, with <see cref="Problem"/> set, where the disk refuses.</summary>
    public bool Save()
    {
        if (Path is null)
        {
            return true;
        }

        var temporary = $"{Path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"; // ranks of one process save at once
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            File.WriteAllBytes(temporary, Write());
            File.Move(temporary, Path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Problem = $"the tuned choices could not be saved to {Path} ({e.Message}); the next start times them again";
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the temporary file is never read.
            }

            return false;
        }
    }

    private byte[] Write()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", FormatVersion);
            json.WriteStartArray("entries");
            foreach (var ((device, shape), tuning) in _entries.OrderBy(e => e.Key.Device, StringComparer.Ordinal).ThenBy(e => e.Key.Shape.Rows).ThenBy(e => e.Key.Shape.OutFeatures).ThenBy(e => e.Key.Shape.InFeatures))
            {
                json.WriteStartObject();
                json.WriteString("device", device);
                json.WriteNumber("rows", shape.Rows);
                json.WriteNumber("out", shape.OutFeatures);
                json.WriteNumber("in", shape.InFeatures);
                json.WriteBoolean("fp32_output", shape.Fp32Output);
                json.WriteNumber("gemmex_us", tuning.GemmExMicroseconds);
                json.WriteNumber("candidates", tuning.Candidates);
                if (tuning.Best is { } best && double.IsFinite(tuning.BestMicroseconds))
                {
                    json.WriteNumber("best_us", tuning.BestMicroseconds);
                    json.WriteStartObject("algorithm");
                    json.WriteStartArray("descriptor");
                    foreach (var word in best.Descriptor)
                    {
                        json.WriteStringValue(word.ToString("x16", CultureInfo.InvariantCulture)); // hex: JSON numbers lose 64-bit words
                    }

                    json.WriteEndArray();
                    json.WriteNumber("workspace_bytes", best.WorkspaceBytes);
                    json.WriteNumber("id", best.Id);
                    json.WriteNumber("tile", best.Tile);
                    json.WriteNumber("split_k", best.SplitK);
                    json.WriteNumber("stages", best.Stages);
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private void Read(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        var root = document.RootElement;
        if (root.GetProperty("version").GetInt32() != FormatVersion)
        {
            throw new FormatException($"format version {root.GetProperty("version").GetInt32()}, this build reads {FormatVersion}");
        }

        foreach (var entry in root.GetProperty("entries").EnumerateArray())
        {
            var shape = new GemmShape(entry.GetProperty("rows").GetInt32(), entry.GetProperty("out").GetInt32(), entry.GetProperty("in").GetInt32(), entry.GetProperty("fp32_output").GetBoolean());
            if (shape.Rows <= 0 || shape.OutFeatures <= 0 || shape.InFeatures <= 0)
            {
                throw new FormatException($"an entry of shape {shape}");
            }

            LtAlgorithm? best = null;
            var bestMicroseconds = double.NaN;
            if (entry.TryGetProperty("algorithm", out var algorithm))
            {
                var words = algorithm.GetProperty("descriptor").EnumerateArray().Select(w => ulong.Parse(w.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
                best = new LtAlgorithm(words, algorithm.GetProperty("workspace_bytes").GetInt64(), algorithm.GetProperty("id").GetInt32(),
                    algorithm.GetProperty("tile").GetInt32(), algorithm.GetProperty("split_k").GetInt32(), algorithm.GetProperty("stages").GetInt32());
                bestMicroseconds = entry.GetProperty("best_us").GetDouble();
            }

            _entries[(entry.GetProperty("device").GetString()!, shape)] =
                new GemmTuning(shape, entry.GetProperty("gemmex_us").GetDouble(), best, bestMicroseconds, entry.GetProperty("candidates").GetInt32());
        }
    }
}
