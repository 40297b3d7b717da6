using System.Text.Json;

namespace Brim.Models;

/// <summary>
/// Opens the safetensors weights of a Hugging Face directory: model.safetensors, or the shards that
/// model.safetensors.index.json's weight_map names. All files are memory-mapped; nothing is read into managed memory.
/// </summary>
internal static class SafetensorsCheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    public static bool IsPresent(string directory) =>
        File.Exists(Path.Combine(directory, IndexFileName)) || File.Exists(Path.Combine(directory, SingleFileName));

    public static (MappedWeightSource Weights, IReadOnlyList<UnsupportedTensor> Unsupported) Open(string directory)
    {
        var indexPath = Path.Combine(directory, IndexFileName);
        Dictionary<string, string>? weightMap = null;
        var shardNames = File.Exists(indexPath) ? ReadShardNames(indexPath, out weightMap) : [SingleFileName];
        var files = new List<MappedFile>();
        try
        {
            var tensors = new Dictionary<string, MappedTensor>(StringComparer.Ordinal);
            var unsupported = new List<UnsupportedTensor>();
            foreach (var shard in shardNames)
            {
                var file = MappedFile.Open(Path.Combine(directory, shard));
                files.Add(file);
                var (shardTensors, shardUnsupported) = SafetensorsHeader.Parse(file);
                unsupported.AddRange(shardUnsupported);
                foreach (var tensor in shardTensors)
                {
                    if (!tensors.TryAdd(tensor.Info.Name, tensor))
                    {
                        throw new ModelLoadException($"{directory}: tensor {tensor.Info.Name} appears in both {Path.GetFileName(tensors[tensor.Info.Name].File.Path)} and {shard}");
                    }
                }
            }

            if (weightMap is not null)
            {
                CheckIndexAgainstShards(indexPath, weightMap, tensors, unsupported);
            }

            return (new MappedWeightSource(tensors.Values, files), unsupported);
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    private static string[] ReadShardNames(string indexPath, out Dictionary<string, string>? weightMap)
    {
        try
        {
            using var index = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!index.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"{indexPath} has no \"weight_map\" object");
            }

            weightMap = map.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new ModelLoadException($"{indexPath}: weight_map[{p.Name}] must be a file name"),
                StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{indexPath} is not valid JSON: {e.Message}", e);
        }

        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (var shard in shards)
        {
            // A weight_map entry must not reach outside the model directory.
            if (Path.GetFileName(shard) != shard)
            {
                throw new ModelLoadException($"{indexPath}: shard name {shard} is not a plain file name");
            }
        }

        return shards;
    }

    private static void CheckIndexAgainstShards(
        string indexPath, Dictionary<string, string> weightMap, Dictionary<string, MappedTensor> tensors, List<UnsupportedTensor> unsupported)
    {
        foreach (var (name, shard) in weightMap)
        {
            var file = tensors.TryGetValue(name, out var tensor) ? Path.GetFileName(tensor.File.Path)
                : unsupported.Find(u => u.Name == name) is { } u ? Path.GetFileName(u.File)
                : null;
            if (file != shard)
            {
                throw new ModelLoadException($"{indexPath} places {name} in {shard}, but {(file is null ? "no shard holds it" : $"it is in {file}")}");
            }
        }
    }
}
