namespace Brim.Models;

/// <summary>Element types of stored tensors (safetensors names in comments).</summary>
public enum TensorDType
{
    F32,  // "F32"
    F16,  // "F16"
    BF16, // "BF16"

    /// <summary>Packed integer words of AWQ/GPTQ checkpoints (qweight, qzeros, g_idx); never a float weight by itself.</summary>
    I32, // "I32"

    /// <summary>FP8 E4M3 (the "fn" variant: no infinities, max 448), the weights of FP8 checkpoints; meaningful only with their scale.</summary>
    F8E4M3, // "F8_E4M3"
}

public static class TensorDTypeExtensions
{
    public static int ByteSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => 4,
        TensorDType.F16 => 2,
        TensorDType.BF16 => 2,
        TensorDType.I32 => 4,
        TensorDType.F8E4M3 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Whether a tensor of this type can be read as float32 by itself (the packed types need their scales).</summary>
    public static bool IsFloat(this TensorDType dtype) => dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;

    /// <summary>The dtype as a safetensors header spells it.</summary>
    public static string SafetensorsName(this TensorDType dtype) => dtype switch
    {
        TensorDType.F8E4M3 => "F8_E4M3",
        _ => dtype.ToString(),
    };
}
