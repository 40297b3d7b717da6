using Brim.Backends.Cpu.Threading;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// y[t, o] = W[o] · x[t] (+ bias[o]) for all tokens of the step at once, W being [outDim, inDim] row-major.
/// Chunks are ranges of output rows; inside a chunk the tokens go four at a time past each weight row, so a row is
/// read from memory once per step and reused from cache for every token. Each output element is one
/// <see cref="FixedOrderMath"/> dot product over the full row, whatever the tiling: batch and thread invariant.
/// </summary>
internal sealed class MatMulJob : ParallelJob
{
    /// <summary>Weight bytes a chunk aims to span: small enough to stay in L2 while all tokens pass over them.</summary>
    private const int TargetChunkBytes = 64 * 1024;

    private float[] _weights = [];
    private float[]? _bias;
    private float[] _input = [];
    private float[] _output = [];
    private int _inDim;
    private int _outDim;
    private int _tokens;
    private int _rowsPerChunk;

    /// <summary>Computes <paramref name="tokens"/> rows of <paramref name="output"/> ([tokens, outDim]) from <paramref name="input"/> ([tokens, inDim]).</summary>
    public void Run(WorkerPool pool, float[] weights, float[]? bias, int outDim, int inDim, float[] input, int tokens, float[] output)
    {
        if (weights.Length != (long)outDim * inDim || (bias is not null && bias.Length != outDim))
        {
            throw new ArgumentException($"weights of {weights.Length} elements do not form [{outDim}, {inDim}]");
        }

        if (input.Length < (long)tokens * inDim || output.Length < (long)tokens * outDim)
        {
            throw new ArgumentException($"buffers too small for {tokens} tokens of [{outDim}, {inDim}]");
        }

        _weights = weights;
        _bias = bias;
        _input = input;
        _output = output;
        _inDim = inDim;
        _outDim = outDim;
        _tokens = tokens;
        var rowsForCache = Math.Max(1, TargetChunkBytes / (inDim * sizeof(float)));
        var rowsForBalance = Math.Max(1, outDim / (pool.ThreadCount * 4));
        _rowsPerChunk = Math.Min(rowsForCache, rowsForBalance);
        pool.Run(this, (outDim + _rowsPerChunk - 1) / _rowsPerChunk);
        _weights = _input = _output = [];
        _bias = null;
    }

    public override void Execute(int chunk)
    {
        var rowStart = chunk * _rowsPerChunk;
        var rowEnd = Math.Min(_outDim, rowStart + _rowsPerChunk);
        var inDim = _inDim;
        var outDim = _outDim;
        var x = _input.AsSpan(0, _tokens * inDim);
        var y = _output.AsSpan(0, _tokens * outDim);
        var t = 0;
        for (; t + 4 <= _tokens; t += 4)
        {
            var x0 = x.Slice(t * inDim, inDim);
            var x1 = x.Slice((t + 1) * inDim, inDim);
            var x2 = x.Slice((t + 2) * inDim, inDim);
            var x3 = x.Slice((t + 3) * inDim, inDim);
            for (var o = rowStart; o < rowEnd; o++)
            {
                var w = _weights.AsSpan(o * inDim, inDim);
                FixedOrderMath.Dot4(w, x0, x1, x2, x3, out var r0, out var r1, out var r2, out var r3);
                var b = _bias is null ? 0f : _bias[o];
                y[(t * outDim) + o] = r0 + b;
                y[((t + 1) * outDim) + o] = r1 + b;
                y[((t + 2) * outDim) + o] = r2 + b;
                y[((t + 3) * outDim) + o] = r3 + b;
            }
        }

        for (; t < _tokens; t++)
        {
            var xt = x.Slice(t * inDim, inDim);
            for (var o = rowStart; o < rowEnd; o++)
            {
                var b = _bias is null ? 0f : _bias[o];
                y[(t * outDim) + o] = FixedOrderMath.Dot(_weights.AsSpan(o * inDim, inDim), xt) + b;
            }
        }
    }
}
