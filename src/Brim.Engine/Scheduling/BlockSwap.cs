namespace Brim.Engine.Scheduling;

/// <summary>
/// One KV block copy the scheduler decided this step: out to host swap block <see cref="HostBlock"/>
/// (<see cref="ToHost"/>) or back into cache block <see cref="DeviceBlock"/>. The engine runs them in list order before
/// the forward pass: a later decision may reuse a block an earlier one freed, so the order is part of the plan.
/// </summary>
public readonly record struct BlockSwap(bool ToHost, int DeviceBlock, int HostBlock);
