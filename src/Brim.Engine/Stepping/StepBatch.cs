using Brim.Core.Execution;

namespace Brim.Engine.Stepping;

/// <summary>
/// One step's forward batch and the counts the step record needs, taken before the forward pass because accepting the
/// tokens afterwards moves each sequence's computed position. Slice i of <see cref="Batch"/> is chunk i of the plan;
/// logit row r belongs to the r-th chunk that samples (see <see cref="StepBatchBuilder"/>).
/// </summary>
internal readonly record struct StepBatch(
    ForwardBatch Batch, int PrefillTokens, int DecodeTokens, long ContextTokens, int OfflineTokens);
