using Brim.Backends.Cpu;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>Chooses and creates the backend for <see cref="DeviceKind"/>.</summary>
internal static class BackendFactory
{
    public static (IModelBackend Backend, string Note) Create(LoadedModel model, ModelHostOptions options)
    {
        switch (options.Device)
        {
            case DeviceKind.Cuda:
                throw new InvalidOperationException("--device cuda: the CUDA backend is not part of this build yet");
            case DeviceKind.Auto:
            case DeviceKind.Cpu:
            default:
                var cpu = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = options.CpuThreads ?? Environment.ProcessorCount });
                var why = options.Device == DeviceKind.Auto ? "auto: no usable GPU backend in this build" : "requested";
                return (cpu, $"{cpu.DeviceName} ({why})");
        }
    }
}
