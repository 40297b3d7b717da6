namespace Brim.Engine.PrefixCache;

/// <summary>Which cached, unreferenced KV block gives way first when a sequence needs a block and none is free.</summary>
public enum PrefixEviction
{
    /// <summary>
    /// Blocks only offline work has used go first (least recently used first), then blocks an online request has used:
    /// a flood of one-off offline prompts cannot push out the system prompt online traffic keeps coming back to.
    /// </summary>
    OfflineFirst,

    /// <summary>Least recently used first, whoever used it (vLLM's order); the baseline the policy is measured against.</summary>
    Lru,
}
