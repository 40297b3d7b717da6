namespace Brim.Telemetry.Cost;

/// <summary>The work one step required by the model's arithmetic: FLOPs, bytes read and written (doubles: sums overflow long at scale).</summary>
public readonly record struct StepCost(double Flops, double BytesRead, double BytesWritten)
{
    public double Bytes => BytesRead + BytesWritten;
}
