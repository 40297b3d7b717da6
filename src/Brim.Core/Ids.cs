namespace Brim.Core;

/// <summary>Identifies one request across the engine, server and batch store.</summary>
public readonly record struct RequestId(string Value)
{
    public override string ToString() => Value;
}
