using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for quant_gemv.cu: weight-only quantized linear layers over at most <see cref="MaxRows"/> token rows (on
/// tensor cores <see cref="MmaMaxRows"/>), the weights dequantized in registers. One module per format (QUANT_FORMAT),
/// compiled when a model of that format loads.
/// int4 and int8 layers whose groups are whole 128-input steps and FP8 layers run on quant_gemv_mma.cu instead (tensor cores,
/// under one instruction a weight for int4, under two for FP8 and int8); other group widths stay on quant_gemv.cu.
/// </summary>
internal sealed class QuantGemvKernel : IDisposable
{
    /// <summary>
    /// Most token rows one launch covers. Each row adds an fp32 multiply-add per weight; at 8 rows int4 is compute-bound
    /// on CUDA cores, still well under dequantizing the weight to bf16 for cuBLAS (which writes and reads it again).
    /// </summary>
    public const int MaxRows = 8;

    private const int Warps = 8;
    private const int ModeBf16 = 0, ModeF32 = 1, ModeResidual = 3;
    private readonly CudaModule _module;
    private readonly KernelFunction[] _plain;
    private readonly KernelFunction[] _gated;
    private readonly CudaModule? _mmaModule;
    private readonly int _multiprocessors;
    private int _tensorCoreMinRows = 1;
    private readonly Dictionary<(int Tiles, int TokenTiles), KernelFunction>? _mmaPlain;
    private readonly Dictionary<(int Tiles, int TokenTiles), KernelFunction>? _mmaGated;

    /// <param name="factored">
    /// Whether a chunk's products are summed unscaled and scaled once (the default); false scales every weight, which
    /// the kernel harness compiles to compare.
    /// </param>
    /// <param name="tensorCores">
    /// Whether int4 and int8 layers with groups of a multiple of <see cref="MmaStepInputs"/> and FP8 layers run on
    /// quant_gemv_mma.cu (the default); false keeps every layer on quant_gemv.cu, which the harness and the backend's
    /// switch compare.
    /// </param>
    public QuantGemvKernel(CudaDevice device, KernelCompiler compiler, WeightFormat format, bool factored = true, bool tensorCores = true)
    {
        if (format == WeightFormat.Bf16)
        {
            throw new ArgumentException("quant_gemv runs quantized formats; bf16 runs on gemv.cu", nameof(format));
        }

        Format = format;
        _multiprocessors = device.MultiprocessorCount;
        _module = new CudaModule(device, compiler.Compile("quant_gemv.cu", new Dictionary<string, int> { ["QUANT_FORMAT"] = (int)format, ["QUANT_FACTORED"] = factored ? 1 : 0 }), $"quant_gemv.cu ({format})");
        _plain = [.. Enumerable.Range(1, MaxRows).Select(m => _module.GetFunction($"quant_gemv_{m}").WithProgrammaticLaunch())];
        _gated = [.. Enumerable.Range(1, MaxRows).Select(m => _module.GetFunction($"quant_gemv_gated_{m}").WithProgrammaticLaunch())];
        if (tensorCores)
        {
            _mmaModule = new CudaModule(device, compiler.Compile("quant_gemv_mma.cu", new Dictionary<string, int> { ["QUANT_FORMAT"] = (int)format }), $"quant_gemv_mma.cu ({format})");
            var variants = MmaTileChoices.SelectMany(t => new[] { 1, 2, 4 }.Select(n => (Tiles: t, TokenTiles: n))).ToList();
            _mmaPlain = variants.ToDictionary(v => v, v => _mmaModule.GetFunction($"quant_gemv_mma_{v.Tiles}_{v.TokenTiles}").WithProgrammaticLaunch());
            _mmaGated = variants.ToDictionary(v => v, v => _mmaModule.GetFunction($"quant_gemv_mma_gated_{v.Tiles}_{v.TokenTiles}").WithProgrammaticLaunch());
        }
    }

    /// <summary>
    /// Most token rows one launch on tensor cores covers: four n8 tiles of tokens. Each extra tile adds mma and activation
    /// loads but no weight bytes, so up to here the weights still stream once a step.
    /// </summary>
    public const int MmaMaxRows = 32;

    /// <summary>Inputs of one step of quant_gemv_mma.cu: four lanes' 32-input chunks of a weight row, within one group.</summary>
    public const int MmaStepInputs = 128;

    /// <summary>m16 tiles one warp of quant_gemv_mma.cu may own (the harness times each).</summary>
    public static readonly int[] MmaTileChoices = [1, 2];

    /// <summary>Whether layers of fitting shape run on tensor cores (quant_gemv_mma.cu).</summary>
    public bool UsesTensorCores => _mmaModule is not null;

    /// <summary>
    /// Fewest token rows that run on tensor cores; fewer run on quant_gemv.cu. 1 (every row count) unless set: the tests
    /// and the harness run the tensor-core kernel at one row too. A served model takes <see cref="ServingTensorCoreMinRows"/>.
    /// </summary>
    public int TensorCoreMinRows
    {
        get => _tensorCoreMinRows;
        set => _tensorCoreMinRows = value is >= 1 and <= MaxRows
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"the rows below it run on quant_gemv.cu, which takes 1 to {MaxRows}");
    }

    /// <summary>
    /// One token row streams faster on CUDA cores, from two the tensor cores win. Measured on the H100 at the 8B decode
    /// shapes (`bench-quant`, GB/s at 1 / 4 rows): int4 qkv 1,327 / 736 on CUDA cores against 1,088 / 1,070 on tensor cores,
    /// FP8 gate_up 2,759 / 2,116 against 2,490 / 2,476; end to end (`bench decode`) int4 297 against 250 tok/s at batch 1,
    /// 1,055 against 1,770 at batch 8.
    /// </summary>
    public const int ServingTensorCoreMinRows = 2;

    public WeightFormat Format { get; }

    /// <summary>Weight rows one warp streams (one activation load serves them all).</summary>
    public static int WeightRowsPerWarp(WeightFormat format) => format == WeightFormat.Int4 ? 4 : 2;

    /// <summary>
    /// Warps that split one row group's chunks (1 or 2). Measured on the H100 at the 8B decode shapes (`bench-quant`):
    /// splitting helps only long rows at one token row (down, 448 int4 / 896 8-bit chunks: 1.1-1.2x the GB/s at 2 warps);
    /// elsewhere it costs, and from 4 token rows it costs a lot (a split's warp sums and shared-memory reduction are
    /// per warp, and each warp keeps fewer loads in flight): int4 qkv at 4 rows 710 GB/s unsplit, 339 at 4 warps.
    /// </summary>
    public static int SplitFor(WeightFormat format, int inFeatures, int tokenRows)
        => tokenRows == 1 && LinearWeight.CodeBytes(format, 1, inFeatures) / 16 >= 384 ? 2 : 1;

    /// <summary>Whether a layer of this shape runs here (the weight's own layout is checked when it is built).</summary>
    public static bool Fits(int rows, int outputs, WeightFormat format, bool gated = false)
        => rows is > 0 and <= MaxRows && outputs % (WeightRowsPerWarp(format) / (gated ? 2 : 1)) == 0;

    /// <summary>
    /// Whether a layer runs on quant_gemv_mma.cu: tensor cores on, rows and groups of whole steps (FP8's one group is the
    /// row), and outputs in whole m16 tiles (gated: 8 outputs a tile, their gate and up rows).
    /// </summary>
    public bool RunsOnTensorCores(int outputs, int inFeatures, int groupWidth, bool gated)
        => _mmaModule is not null && inFeatures % MmaStepInputs == 0 && groupWidth % MmaStepInputs == 0 && outputs % (gated ? 8 : 16) == 0;

    /// <summary>Most token rows a layer of this shape runs here: <see cref="MmaMaxRows"/> on tensor cores, else <see cref="MaxRows"/>.</summary>
    public int MaxRowsFor(int outputs, int inFeatures, int groupWidth, bool gated)
        => RunsOnTensorCores(outputs, inFeatures, groupWidth, gated) ? MmaMaxRows : MaxRows;

    /// <summary>
    /// Warps that share one row group's steps on quant_gemv_mma.cu: the fewest that give the launch about 1.4 blocks an SM
    /// (<paramref name="multiprocessors"/>), and never so many that a warp gets fewer than <see cref="MinMmaStepsPerWarp"/>
    /// steps. Measured on the H100 at the 8B decode shapes (`bench-quant`, 1 to 8 token rows): the best split gave 192 to
    /// 256 blocks at every layer — qkv at split 4 (192 blocks; 1.15x split 8's GB/s), o and down at 8 (256), gate_up at 1
    /// (224; 1.13x split 8's); more blocks than that and the split's reduction costs more than the extra warps bring.
    /// </summary>
    public static int MmaSplitFor(int inFeatures, int outputs, int outputsPerWarp, int multiprocessors)
    {
        var steps = inFeatures / MmaStepInputs;
        var most = 8;
        while (most > 1 && steps / most < MinMmaStepsPerWarp)
        {
            most /= 2;
        }

        var split = 1;
        while (split < most && BlocksOf(outputs, outputsPerWarp, split) < 1.4 * multiprocessors)
        {
            split *= 2;
        }

        return split;
    }

    private static int BlocksOf(int outputs, int outputsPerWarp, int split)
    {
        var perBlock = Warps / split * outputsPerWarp;
        return (outputs + perBlock - 1) / perBlock;
    }

    /// <summary>Fewest steps a warp of quant_gemv_mma.cu takes when the launcher splits a row group: its loads in flight.</summary>
    public const int MinMmaStepsPerWarp = 4;

    /// <summary>y[rows, outFeatures] = x[rows, inFeatures] · wᵀ, y bf16 or fp32.</summary>
    /// <param name="split">Warps a row group's chunks are split over (1, 2, 4, 8; the harness times each); 0 chooses (<see cref="SplitFor"/>).</param>
    /// <param name="tiles">On tensor cores, m16 tiles a warp owns (1 or 2; the harness times each); 0 chooses (1).</param>
    public void Linear(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false, int split = 0, int tiles = 0)
        => Run(stream, w, x, y, rows, inFeatures, outFeatures, fp32Output ? ModeF32 : ModeBf16, gated: false, split, tiles);

    /// <summary>residual[rows, outFeatures] += x · wᵀ in place (fp32).</summary>
    public void AddInto(CudaStream stream, LinearWeight w, ulong x, ulong residual, int rows, int inFeatures, int outFeatures, int split = 0, int tiles = 0)
        => Run(stream, w, x, residual, rows, inFeatures, outFeatures, ModeResidual, gated: false, split, tiles);

    /// <summary>output[rows, ff] = silu(x · gateᵀ) * (x · upᵀ), <paramref name="gateUp"/> [2·ff, inFeatures] (gate rows, then up rows).</summary>
    public void GateUpSilu(CudaStream stream, LinearWeight gateUp, ulong x, ulong output, int rows, int inFeatures, int ff, int split = 0, int tiles = 0)
        => Run(stream, gateUp, x, output, rows, inFeatures, ff, ModeBf16, gated: true, split, tiles);

    public void Dispose()
    {
        _mmaModule?.Dispose();
        _module.Dispose();
    }

    private void Run(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outputs, int mode, bool gated, int split, int tiles)
    {
        Launch.Positive(outputs, nameof(outputs));
        if (w.Format != Format)
        {
            throw new ArgumentException($"a {w.Format} weight on the {Format} kernel");
        }

        if ((w.Codes | x) % 16 != 0 || w.Scales % 4 != 0)
        {
            throw new ArgumentException("quant_gemv needs 16-byte aligned codes and activations, 4-byte aligned scales");
        }

        if (rows >= TensorCoreMinRows && rows <= MmaMaxRows && RunsOnTensorCores(outputs, inFeatures, w.GroupWidth, gated))
        {
            RunOnTensorCores(stream, w, x, y, rows, inFeatures, outputs, mode, gated, split, tiles);
            return;
        }

        if (!Fits(rows, outputs, Format, gated) || LinearWeight.Unsupported(Format, inFeatures, w.GroupWidth) is not null)
        {
            throw new ArgumentException($"quant_gemv ({Format}) cannot run rows {rows}, in {inFeatures}, out {outputs}, group {w.GroupWidth}");
        }

        var a = w.KernelArguments(x, y);
        a.Add(outputs);
        a.Add(inFeatures);
        a.Add(w.GroupWidth);
        a.Add(mode);
        if (split == 0)
        {
            split = SplitFor(Format, inFeatures, rows);
        }

        if (split is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(split), split, "quant_gemv splits a row group over 1, 2, 4 or 8 warps");
        }

        a.Add(split);
        var outputsPerWarp = WeightRowsPerWarp(Format) / (gated ? 2 : 1);
        var perBlock = Warps / split * outputsPerWarp;
        (gated ? _gated : _plain)[rows - 1].Launch(stream, (outputs + perBlock - 1) / perBlock, Warps * 32, ref a);
    }

    private void RunOnTensorCores(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outputs, int mode, bool gated, int split, int tiles)
    {
        tiles = tiles == 0 ? 1 : tiles;
        var outputsPerWarp = tiles * (gated ? 8 : 16);
        split = split == 0 ? MmaSplitFor(inFeatures, outputs, outputsPerWarp, _multiprocessors) : split;
        if (split is not (1 or 2 or 4 or 8) || !MmaTileChoices.Contains(tiles))
        {
            throw new ArgumentOutOfRangeException(nameof(split), $"quant_gemv_mma splits a row group over 1, 2, 4 or 8 warps of 1 or 2 tiles, got split {split}, tiles {tiles}");
        }

        if (outputs % outputsPerWarp != 0)
        {
            throw new ArgumentException($"quant_gemv_mma with {tiles} tiles a warp needs outputs in multiples of {outputsPerWarp}, got {outputs}");
        }

        var a = w.KernelArguments(x, y);
        a.Add(rows);
        a.Add(outputs);
        a.Add(inFeatures);
        a.Add(w.GroupWidth);
        a.Add(mode);
        a.Add(split);
        var blocks = BlocksOf(outputs, outputsPerWarp, split);
        var tokenTiles = rows <= 8 ? 1 : rows <= 16 ? 2 : 4;
        (gated ? _mmaGated! : _mmaPlain!)[(tiles, tokenTiles)].Launch(stream, blocks, Warps * 32, ref a);
    }
}
