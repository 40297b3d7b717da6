using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Brim.Backends.Cuda.Interop;
using Brim.Models;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Compiles the embedded kernel sources with NVRTC for one compute capability and caches the cubins on disk, keyed
/// by a hash of the source, the headers, the options (model shape defines included), the NVRTC and driver versions.
/// </summary>
internal sealed unsafe class KernelCompiler
{
    private const string ResourcePrefix = "Brim.Kernels.";
    private static readonly string[] Headers = ["common.cuh", "attention_combine.cuh", "cp_async.cuh", "fp8.cuh", "kv_cache.cuh", "prefill_mma.cuh", "quant.cuh"];
    private readonly ConcurrentDictionary<string, byte[]> _memoryCache = new();
    private readonly IProgress<LoadProgress>? _progress;
    private int _compiled;

    /// <param name="progress">Told of each source compiled with NVRTC (not of those the caches hold): a first start compiles for a minute or more.</param>
    public KernelCompiler(int computeCapability, int driverVersion, string? cacheDirectory, IProgress<LoadProgress>? progress = null)
    {
        _progress = progress;
        ComputeCapability = computeCapability;
        DriverVersion = driverVersion;
        CacheDirectory = cacheDirectory;
        Nvrtc.Check(Nvrtc.nvrtcVersion(out var major, out var minor), "nvrtcVersion");
        NvrtcVersion = $"{major}.{minor}";
    }

    public int ComputeCapability { get; }

    public int DriverVersion { get; }

    public string NvrtcVersion { get; }

    /// <summary>Where cubins are kept between runs; null disables the disk cache.</summary>
    public string? CacheDirectory { get; }

    /// <summary>Default cache location: $BRIM_KERNEL_CACHE, else ~/.cache/brim/kernels.</summary>
    public static string DefaultCacheDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("BRIM_KERNEL_CACHE");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".cache", "brim", "kernels");
    }

    /// <summary>The text of an embedded kernel source (for example "attention.cu").</summary>
    public static string ReadSource(string fileName)
    {
        using var stream = typeof(KernelCompiler).Assembly.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"kernel source {fileName} is not embedded in {typeof(KernelCompiler).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>All embedded .cu files (each compiles on its own).</summary>
    public static IReadOnlyList<string> SourceFiles()
        => typeof(KernelCompiler).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..])
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Compiles (or fetches from cache) <paramref name="fileName"/> with the given preprocessor defines; returns a cubin.</summary>
    public byte[] Compile(string fileName, IReadOnlyDictionary<string, int>? defines = null)
    {
        var source = ReadSource(fileName);
        var headerSources = Headers.Select(ReadSource).ToArray();
        var options = new List<string> { $"--gpu-architecture=sm_{ComputeCapability}", "--std=c++17" };
        if (defines is not null)
        {
            options.AddRange(defines.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"-D{d.Key}={d.Value}"));
        }

        var key = CacheKey(source, headerSources, options);
        if (_memoryCache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var path = CacheDirectory is null ? null : Path.Combine(CacheDirectory, $"{Path.GetFileNameWithoutExtension(fileName)}-{key}.cubin");
        if (path is not null && File.Exists(path))
        {
            return _memoryCache[key] = File.ReadAllBytes(path);
        }

        _progress?.Report(new LoadProgress(LoadPhase.Kernels, Interlocked.Increment(ref _compiled), 0, fileName));
        var cubin = CompileWithNvrtc(fileName, source, headerSources, options);
        if (path is not null)
        {
            WriteAtomically(path, cubin);
        }

        return _memoryCache[key] = cubin;
    }

    private string CacheKey(string source, string[] headers, List<string> options)
    {
        var text = new StringBuilder()
            .Append(source).Append('\0')
            .AppendJoin('\0', headers).Append('\0')
            .AppendJoin(' ', options).Append('\0')
            .Append(NvrtcVersion).Append('\0').Append(DriverVersion);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32].ToLowerInvariant();
    }

    private static byte[] CompileWithNvrtc(string fileName, string source, string[] headerSources, List<string> options)
    {
        using var pins = new Utf8Strings([source, fileName, .. headerSources, .. Headers, .. options]);
        var headerCount = headerSources.Length;
        var headerPointers = stackalloc byte*[headerCount];
        var includePointers = stackalloc byte*[headerCount];
        for (var i = 0; i < headerCount; i++)
        {
            headerPointers[i] = pins[2 + i];
            includePointers[i] = pins[2 + headerCount + i];
        }

        Nvrtc.Check(Nvrtc.nvrtcCreateProgram(out var program, pins[0], pins[1], headerCount, headerPointers, includePointers), $"nvrtcCreateProgram({fileName})");
        try
        {
            var optionPointers = stackalloc byte*[options.Count];
            for (var i = 0; i < options.Count; i++)
            {
                optionPointers[i] = pins[2 + (2 * headerCount) + i];
            }

            var result = Nvrtc.nvrtcCompileProgram(program, options.Count, optionPointers);
            if (result != 0)
            {
                var message = Marshal.PtrToStringUTF8((nint)Nvrtc.nvrtcGetErrorString(result));
                throw new CudaException($"nvrtcCompileProgram({fileName}, {string.Join(' ', options)}) failed: {message}\n{ProgramLog(program)}");
            }

            Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(program, out var size), $"nvrtcGetCUBINSize({fileName})");
            var cubin = new byte[(int)size];
            fixed (byte* p = cubin)
            {
                Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(program, p), $"nvrtcGetCUBIN({fileName})");
            }

            return cubin;
        }
        finally
        {
            Nvrtc.nvrtcDestroyProgram(ref program);
        }
    }

    private static string ProgramLog(nint program)
    {
        if (Nvrtc.nvrtcGetProgramLogSize(program, out var size) != 0 || size <= 1)
        {
            return string.Empty;
        }

        var log = new byte[(int)size];
        fixed (byte* p = log)
        {
            return Nvrtc.nvrtcGetProgramLog(program, p) == 0 ? Encoding.UTF8.GetString(log, 0, log.Length - 1) : string.Empty;
        }
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException)
        {
            // The cache is an optimization: a read-only or full disk only costs a recompile next time.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>NUL-terminated UTF-8 copies of strings, pinned for the duration of a native call.</summary>
    private sealed class Utf8Strings : IDisposable
    {
        private readonly GCHandle[] _handles;

        public Utf8Strings(string[] strings)
            => _handles = strings.Select(s => GCHandle.Alloc(Encoding.UTF8.GetBytes(s + "\0"), GCHandleType.Pinned)).ToArray();

        public byte* this[int index] => (byte*)_handles[index].AddrOfPinnedObject();

        public void Dispose()
        {
            foreach (var h in _handles)
            {
                h.Free();
            }
        }
    }
}
