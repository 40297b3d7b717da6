namespace Brim.Engine.Speculative;

/// <summary>
/// One step's speculation, for its <see cref="StepRecord"/>: drafts verified, their tokens proposed and accepted, whether
/// the policy chose no draft though sequences were decoding, and the seconds spent proposing.
/// </summary>
public readonly record struct SpeculationStep(int Drafts, int DraftTokens, int AcceptedTokens, bool PolicyOff, double DraftSeconds);
