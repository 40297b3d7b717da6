namespace Brim.Models;

/// <summary>A model could not be loaded: a missing file, an unknown architecture, a shape or dtype mismatch, a truncated file.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string message)
        : base(message)
    {
    }

    public ModelLoadException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
