using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// Which format each fused projection of a layer takes on the device, and where its values come from: the float
/// weights (bf16, or quantized on the device on load), or a quantized checkpoint's packed tensors (repacked on the
/// host by <see cref="QuantizedPacking"/>). Checked before anything is allocated, so an unsupported layer fails naming it.
/// </summary>
internal sealed class ProjectionPlan
{
    private readonly Dictionary<string, QuantizedLinear> _packed;

    private ProjectionPlan(WeightFormat onLoad, Dictionary<string, QuantizedLinear> packed, IWeightSource? raw)
    {
        OnLoad = onLoad;
        _packed = packed;
        Raw = raw;
    }

    /// <summary>The format every float projection is quantized into on the device (bf16: none).</summary>
    public WeightFormat OnLoad { get; }

    /// <summary>Whether any projection is quantized (on load or in the checkpoint): the quantize kernels are needed.</summary>
    public bool Quantizes => OnLoad != WeightFormat.Bf16 || _packed.Count > 0;

    /// <summary>The checkpoint's raw tensors, when it is quantized.</summary>
    public IWeightSource? Raw { get; }

    public static ProjectionPlan For(ModelConfig config, ModelQuantization? quantization)
    {
        var plan = quantization switch
        {
            null => new ProjectionPlan(WeightFormat.Bf16, [], null),
            { Scheme: null } q => new ProjectionPlan(LinearWeight.FormatOf(q.Kind), [], null),
            { } q => new ProjectionPlan(WeightFormat.Bf16, q.Linears.ToDictionary(l => l.WeightName, StringComparer.Ordinal), q.Packed),
        };
        for (var l = 0; l < config.NumLayers; l++)
        {
            foreach (var (members, inFeatures) in Projections(config, l))
            {
                plan.Describe(members, inFeatures);
            }
        }

        return plan;
    }

    /// <summary>The four fused projections of layer <paramref name="layer"/>: their member tensors (name, output rows) and input width.</summary>
    public static IEnumerable<(ProjectionMember[] Members, int InFeatures)> Projections(ModelConfig config, int layer)
    {
        yield return ([new(LlamaTensorNames.QueryWeight(layer), config.QueryDim), new(LlamaTensorNames.KeyWeight(layer), config.KvDim), new(LlamaTensorNames.ValueWeight(layer), config.KvDim)], config.HiddenSize);
        yield return ([new(LlamaTensorNames.OutputWeight(layer), config.HiddenSize)], config.QueryDim);
        yield return ([new(LlamaTensorNames.GateWeight(layer), config.IntermediateSize), new(LlamaTensorNames.UpWeight(layer), config.IntermediateSize)], config.HiddenSize);
        yield return ([new(LlamaTensorNames.DownWeight(layer), config.HiddenSize)], config.IntermediateSize);
    }

    /// <summary>The device format and group width of a fused projection, checked against the kernels' layouts.</summary>
    public (WeightFormat Format, int GroupWidth) Describe(ProjectionMember[] projection, int inFeatures)
    {
        var members = projection.Select(m => m.Name).ToArray();
        var packed = members.Select(m => _packed.GetValueOrDefault(m)).ToArray();
        if (packed.All(p => p is null))
        {
            var group = OnLoad == WeightFormat.Int4 ? WeightQuantizer.Int4Group(inFeatures) : inFeatures;
            return Checked(OnLoad, inFeatures, group, members);
        }

        if (packed.Any(p => p is null) || packed.Select(p => (p!.Scheme.Kind, p.GroupWidth)).Distinct().Count() != 1)
        {
            throw new NotSupportedException(
                $"{string.Join(", ", members)}: the CUDA backend fuses these projections and needs them in one format; the checkpoint quantizes them differently");
        }

        return Checked(LinearWeight.FormatOf(packed[0]!.Scheme.Kind), inFeatures, packed[0]!.GroupWidth, members);
    }

    /// <summary>The checkpoint's packed layer for <paramref name="member"/>, or null when it is stored in float.</summary>
    public QuantizedLinear? PackedLayer(string member) => _packed.GetValueOrDefault(member);

    private static (WeightFormat, int) Checked(WeightFormat format, int inFeatures, int group, string[] members)
        => LinearWeight.Unsupported(format, inFeatures, group) is { } why
            ? throw new NotSupportedException($"{members[0]}: {why}")
            : (format, group);
}

/// <summary>One tensor of a fused projection and its output rows.</summary>
internal readonly record struct ProjectionMember(string Name, int Rows);
