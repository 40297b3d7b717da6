namespace Brim.Core;

/// <summary>Identifies one request across the engine, server and batch store.</summary>
public readonly record struct RequestId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>Identifies one sequence inside the engine (a request with n &gt; 1 owns several).</summary>
public readonly record struct SequenceId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
