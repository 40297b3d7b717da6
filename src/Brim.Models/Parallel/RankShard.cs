using System.Text.RegularExpressions;

namespace Brim.Models.Parallel;

/// <summary>
/// What rank <see cref="Rank"/> of a <see cref="TensorParallelPlan"/> holds, as ranges of the full checkpoint's heads,
/// KV heads, MLP features and vocabulary, and per tensor as a row or column range (<see cref="SliceOf"/>), so a loader
/// reads each rank's part straight from the full tensors.
/// </summary>
public sealed partial record RankShard(TensorParallelPlan Plan, int Rank, IndexRange Heads, IndexRange KvHeads, IndexRange Intermediate, IndexRange Vocab)
{
    /// <summary>
    /// The rank's model as a decoder of its own: its heads, KV heads, intermediate features and vocabulary rows, the
    /// rest unchanged (hidden size, head_dim, rope, norms). A backend built for this config runs the rank's slice.
    /// </summary>
    public ModelConfig RankConfig => Plan.Config with
    {
        NumHeads = Heads.Length,
        NumKvHeads = KvHeads.Length,
        IntermediateSize = Intermediate.Length,
        VocabSize = Vocab.Length,
    };

    /// <summary>How this rank holds the full tensor <paramref name="info"/>; throws <see cref="ModelLoadException"/> for a tensor the scheme does not know.</summary>
    public TensorSlice SliceOf(TensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var headDim = Plan.Config.HeadDim;
        var (kind, range) = Classify(info.Name) switch
        {
            "embed_tokens.weight" or "lm_head.weight" => (SliceKind.Rows, Vocab),
            "input_layernorm.weight" or "post_attention_layernorm.weight" or "norm.weight" => (SliceKind.Replicated, default),
            "q_proj.weight" or "q_proj.bias" => (SliceKind.Rows, Heads.Times(headDim)),
            "k_proj.weight" or "k_proj.bias" or "v_proj.weight" or "v_proj.bias" => (SliceKind.Rows, KvHeads.Times(headDim)),
            "gate_proj.weight" or "gate_proj.bias" or "up_proj.weight" or "up_proj.bias" => (SliceKind.Rows, Intermediate),
            "o_proj.weight" => (SliceKind.Columns, Heads.Times(headDim)),
            "down_proj.weight" => (SliceKind.Columns, Intermediate),

            // A row-parallel linear's bias is added once, after the sum: rank 0 holds it.
            "o_proj.bias" or "down_proj.bias" => Rank == 0 ? (SliceKind.Replicated, default(IndexRange)) : (SliceKind.Absent, default),
            _ => throw new ModelLoadException($"tensor {info.Name} has no tensor-parallel layout (only Llama-family float tensors are sharded)"),
        };

        var slice = new TensorSlice(info.Name, kind, range, info.Shape);
        CheckFits(slice);
        return slice;
    }

    /// <summary>The part of a tensor name that decides its layout: "q_proj.weight" for model.layers.3.self_attn.q_proj.weight.</summary>
    private static string Classify(string name)
    {
        var match = LayerTensor().Match(name);
        return match.Success ? match.Groups[1].Value : name.StartsWith("model.", StringComparison.Ordinal) ? name["model.".Length..] : name;
    }

    [GeneratedRegex(@"^model\.layers\.\d+\.(?:self_attn\.|mlp\.)?([a-z_]+\.(?:weight|bias))$")]
    private static partial Regex LayerTensor();

    private static void CheckFits(TensorSlice slice)
    {
        var shape = slice.FullShape;
        var fits = slice.Kind switch
        {
            SliceKind.Rows => shape.Length is 1 or 2 && slice.Range.End <= shape[0],
            SliceKind.Columns => shape.Length == 2 && slice.Range.End <= shape[1],
            _ => true,
        };
        if (!fits)
        {
            throw new ModelLoadException($"tensor {slice.Name} [{string.Join(", ", shape)}] is too small for its slice {slice.Range}");
        }
    }
}
