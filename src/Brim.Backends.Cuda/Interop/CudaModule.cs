using System.Text;

namespace Brim.Backends.Cuda.Interop;

/// <summary>A loaded cubin and the kernels looked up in it.</summary>
internal sealed unsafe class CudaModule : IDisposable
{
    private readonly CudaDevice _device;
    private nint _module;

    public CudaModule(CudaDevice device, byte[] image, string name)
    {
        _device = device;
        Name = name;
        device.MakeCurrent();
        fixed (byte* p = image)
        {
            CuDriver.Check(CuDriver.cuModuleLoadData(out _module, p), $"cuModuleLoadData({name})");
        }
    }

    public string Name { get; }

    public KernelFunction GetFunction(string kernelName)
    {
        var bytes = Encoding.UTF8.GetBytes(kernelName + "\0");
        fixed (byte* p = bytes)
        {
            CuDriver.Check(CuDriver.cuModuleGetFunction(out var function, _module, p), $"cuModuleGetFunction({Name}:{kernelName})");
            return new KernelFunction(function, kernelName);
        }
    }

    public void Dispose()
    {
        if (_module != 0)
        {
            _device.MakeCurrent();
            CuDriver.cuModuleUnload(_module);
            _module = 0;
        }
    }
}
