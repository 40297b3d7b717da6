namespace Brim.Models;

/// <summary>Name, element type and shape of one stored tensor (row-major; shape[0] is the output dimension of a linear weight).</summary>
public sealed record TensorInfo(string Name, TensorDType DType, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long ByteCount => ElementCount * DType.ByteSize();

    public override string ToString() => $"{Name} {DType}[{string.Join(", ", Shape)}]";
}
