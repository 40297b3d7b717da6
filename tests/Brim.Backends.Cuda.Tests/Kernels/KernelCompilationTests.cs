using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>Every embedded kernel compiles with NVRTC: needs only libnvrtc (no GPU), so it also runs on hosts with a toolkit but no device.</summary>
public class KernelCompilationTests
{
    public static TheoryData<string> Sources() => new(KernelCompiler.SourceFiles());

    [Fact]
    public void SourceFiles_AllOpFamilies_AreEmbedded()
        => Assert.Equal(["attention.cu", "convert.cu", "decode_attention.cu", "decode_attention_fp8.cu", "dummy.cu", "embedding.cu", "fp8_gemm.cu", "gemv.cu", "prefill_attention.cu", "prefill_attention_long.cu", "quant_convert.cu", "quant_gemv.cu", "quant_gemv_mma.cu", "quant_mma.cu", "rmsnorm.cu", "rope.cu", "sampling.cu", "swiglu.cu", "vocab_gather.cu"], KernelCompiler.SourceFiles());

    [Theory]
    [MemberData(nameof(Sources))]
    public void Compile_EachSource_ProducesCubin(string file)
    {
        Assert.SkipUnless(NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out _, out var reason), $"no NVRTC: {reason}");
        var compiler = new KernelCompiler(80, 0, cacheDirectory: null);
        foreach (var shape in new[] { new AttentionShape(32, 8, 128, false), new AttentionShape(8, 4, 8, true), new AttentionShape(14, 2, 64, false), new AttentionShape(32, 8, 128, false, KvFp8: true) })
        {
            if (file == "decode_attention.cu" && !AttentionKernel.DecodeKernelSupports(shape))
            {
                continue; // the kernel rejects other shapes with #error; its launcher never compiles it for them
            }

            if (shape.KvFp8 && !file.StartsWith("prefill_attention", StringComparison.Ordinal))
            {
                continue; // the other FP8 readers need sm_89 conversions; their own tests compile them
            }

            // The prefill kernels take their tile constants from the host (PrefillTiling), as their launchers pass them.
            var defines = file switch
            {
                "prefill_attention.cu" => PrefillTiling.Defines(shape, PrefillTiling.SmallQuerySlots),
                "prefill_attention_long.cu" => PrefillTiling.Defines(shape, PrefillTiling.LongQuerySlots),
                _ => shape.Defines,
            };
            var cubin = compiler.Compile(file, defines);
            Assert.True(cubin.Length > 64 && cubin[0] == 0x7F && cubin[1] == (byte)'E', $"{file}: not an ELF cubin");
        }
    }

    [Fact]
    public void Compile_InvalidDefine_ThrowsWithCompilerLog()
    {
        Assert.SkipUnless(NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out _, out var reason), $"no NVRTC: {reason}");
        var compiler = new KernelCompiler(80, 0, cacheDirectory: null);
        var error = Assert.Throws<CudaException>(() => compiler.Compile("attention.cu", new Dictionary<string, int> { ["NUM_HEADS"] = 4 }));
        Assert.Contains("nvrtcCompileProgram(attention.cu", error.Message, StringComparison.Ordinal);
        Assert.Contains("HEAD_DIM", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_MissThenHits_ReportsOnlyTheNvrtcCompile()
    {
        Assert.SkipUnless(NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out _, out var reason), $"no NVRTC: {reason}");
        var cache = Directory.CreateTempSubdirectory("brim-kernels-");
        try
        {
            var reports = new List<LoadProgress>();
            var progress = new SyncProgress(reports.Add);
            var compiler = new KernelCompiler(80, 0, cache.FullName, progress);

            compiler.Compile("rmsnorm.cu");
            compiler.Compile("rmsnorm.cu"); // memory cache
            new KernelCompiler(80, 0, cache.FullName, progress).Compile("rmsnorm.cu"); // disk cache

            Assert.Equal([new LoadProgress(LoadPhase.Kernels, 1, 0, "rmsnorm.cu")], reports);
        }
        finally
        {
            cache.Delete(recursive: true);
        }
    }

    /// <summary>Reports on the caller's thread (System.Progress posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
