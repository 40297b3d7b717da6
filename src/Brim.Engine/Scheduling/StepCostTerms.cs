namespace Brim.Engine.Scheduling;

/// <summary>Which terms a <see cref="StepCostModel"/> fit uses: the richest set the observed steps can tell apart.</summary>
public enum StepCostTerms
{
    /// <summary>One cost per token of any kind (steps of one kind only, or too little spread for more).</summary>
    Tokens,

    /// <summary>One cost per token of any kind plus attention positions read.</summary>
    TokensAndAttention,

    /// <summary>Decode rows and prefill tokens priced apart.</summary>
    PerKind,

    /// <summary>Decode rows and prefill tokens priced apart, plus attention positions read.</summary>
    PerKindAndAttention,
}
