namespace Brim.Models;

/// <summary>Argument checks shared by every <see cref="IWeightSource"/>, so all of them fail the same way.</summary>
internal static class WeightSourceChecks
{
    public static void CheckRawRange(TensorInfo info, long byteOffset, int length)
    {
        if (byteOffset < 0 || byteOffset + length > info.ByteCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + length}) are outside {info} ({info.ByteCount} bytes)");
        }
    }

    public static void CheckFloatLength(TensorInfo info, int length)
    {
        if (length != info.ElementCount)
        {
            throw new ArgumentException($"destination holds {length} floats but {info} has {info.ElementCount} elements", "destination");
        }
    }
}
