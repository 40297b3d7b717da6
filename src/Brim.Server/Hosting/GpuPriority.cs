namespace Brim.Server.Hosting;

/// <summary>
/// How a model's work is ordered against other models' on a shared GPU (<c>--model-gpu-priority</c>): a high-priority
/// model's kernels are scheduled first whenever both have work waiting, so its steps do not queue behind the other's.
/// </summary>
public enum GpuPriority
{
    Normal,
    High,
}
