namespace Brim.Models;

/// <summary>What loading a model is busy with.</summary>
public enum LoadPhase
{
    /// <summary>Reading weights (to host memory or to the device): <see cref="LoadProgress.Done"/> of <see cref="LoadProgress.Total"/> bytes.</summary>
    Weights,

    /// <summary>Compiling a GPU kernel not in the disk cache: <see cref="LoadProgress.Item"/> is its source, <see cref="LoadProgress.Done"/> how many so far.</summary>
    Kernels,

    /// <summary>Loading ended, loaded or failed: a progress line can go.</summary>
    Finished,
}

/// <summary>
/// One report of how far loading a model is, for a progress line on a terminal (a large model takes minutes to read
/// and a first start on a GPU compiles its kernels). Reports come on the loading thread, as often as every chunk read:
/// whoever draws them decides how often to redraw.
/// </summary>
public readonly record struct LoadProgress(LoadPhase Phase, long Done, long Total, string? Item = null)
{
    public static LoadProgress Finished => new(LoadPhase.Finished, 0, 0);
}
