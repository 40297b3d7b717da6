using System.CommandLine;
using Brim.Backends.Cuda;
using Brim.Models;
using Brim.Server.Hosting;

namespace Brim.Cli.Commands;

/// <summary>
/// The model a GPU benchmark measures when none is named: the bundled stories260K is far too small for a GPU step to say
/// anything about serving (a step is all launch overhead), so on a usable GPU the default is the Llama-3.1-8B shape
/// (bench/configs/llama-3.1-8b, dummy weights) with 256 slots and 8,192 tokens a step, unless those were given. On the
/// CPU, and wherever the config is not found (the installed tool has no bench/), the bundled model stays the default.
/// </summary>
internal static class GpuDefaultModel
{
    public const string ConfigDirectory = "bench/configs/llama-3.1-8b";

    public static ModelHostOptions Apply(ModelOptions model, ParseResult result, ModelHostOptions options)
    {
        if (options.ModelPath is not null || options.Device == DeviceKind.Cpu || Find() is not { } path)
        {
            return options;
        }

        if (options.Device == DeviceKind.Auto && !CudaBackend.IsAvailable(out _))
        {
            return options;
        }

        Console.Error.WriteLine($"no --model: on the GPU the default is the Llama-3.1-8B shape ({ConfigDirectory}, dummy weights)");
        return options with
        {
            ModelPath = path,
            LoadFormat = LoadFormat.Dummy,
            Engine = options.Engine with
            {
                MaxRunningSequences = IsImplicit(result, model.MaxNumSeqs) ? 256 : options.Engine.MaxRunningSequences,
                MaxBatchTokens = IsImplicit(result, model.MaxBatchedTokens) ? 8192 : options.Engine.MaxBatchTokens,
            },
        };
    }

    private static bool IsImplicit(ParseResult result, Option option) => result.GetResult(option) is not { Implicit: false };

    /// <summary>The config above the working directory or the executable (a clone or a published bundle).</summary>
    private static string? Find()
    {
        foreach (var root in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = root; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var candidate = Path.Combine(dir, ConfigDirectory);
                if (File.Exists(Path.Combine(candidate, "config.json")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
