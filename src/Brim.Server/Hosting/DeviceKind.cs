namespace Brim.Server.Hosting;

/// <summary>Where the model runs. <see cref="Auto"/> takes the GPU when one is usable and says why not otherwise.</summary>
public enum DeviceKind
{
    Auto,
    Cpu,
    Cuda,
}
