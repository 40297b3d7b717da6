namespace Brim.Models;

/// <summary>Element types of stored tensors (safetensors names in comments).</summary>
public enum TensorDType
{
    F32,  // "F32"
    F16,  // "F16"
    BF16, // "BF16"
}

public static class TensorDTypeExtensions
{
    public static int ByteSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => 4,
        TensorDType.F16 => 2,
        TensorDType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
