using Brim.Models;

namespace Brim.Backends.Cpu;

/// <summary>
/// Activations of one forward step, [tokens, width] row-major, reused across steps and grown only when a step is
/// larger than any before it (doubling, so a growing workload reallocates rarely).
/// </summary>
internal sealed class ForwardBuffers(ModelConfig config)
{
    public int TokenCapacity { get; private set; }

    /// <summary>The residual stream [tokens, hidden].</summary>
    public float[] Hidden { get; private set; } = [];

    /// <summary>The normalized residual fed to a block [tokens, hidden].</summary>
    public float[] Normalized { get; private set; } = [];

    /// <summary>Stacked projections [tokens, q | k | v] (queryDim + 2 kvDim wide).</summary>
    public float[] QueryKeyValue { get; private set; } = [];

    /// <summary>Attention output [tokens, numHeads * headDim].</summary>
    public float[] Attention { get; private set; } = [];

    /// <summary>Output of a block's last projection [tokens, hidden], added to <see cref="Hidden"/>.</summary>
    public float[] Projection { get; private set; } = [];

    /// <summary>Stacked projections [tokens, gate | up] (2 intermediate wide).</summary>
    public float[] GateUp { get; private set; } = [];

    /// <summary>silu(gate) ⊙ up [tokens, intermediate].</summary>
    public float[] Activated { get; private set; } = [];

    public int[] Positions { get; private set; } = [];

    public int[] SliceOfToken { get; private set; } = [];

    /// <summary>Final-normalized rows of the tokens that need logits [rows, hidden].</summary>
    public float[] LogitInputs { get; private set; } = [];

    public void EnsureTokens(int tokens)
    {
        if (tokens <= TokenCapacity)
        {
            return;
        }

        var capacity = Math.Max(tokens, TokenCapacity * 2);
        Hidden = new float[capacity * config.HiddenSize];
        Normalized = new float[capacity * config.HiddenSize];
        QueryKeyValue = new float[capacity * (config.QueryDim + (2 * config.KvDim))];
        Attention = new float[capacity * config.QueryDim];
        Projection = new float[capacity * config.HiddenSize];
        GateUp = new float[capacity * 2 * config.IntermediateSize];
        Activated = new float[capacity * config.IntermediateSize];
        Positions = new int[capacity];
        SliceOfToken = new int[capacity];
        LogitInputs = new float[capacity * config.HiddenSize];
        TokenCapacity = capacity;
    }
}
