namespace Brim.Server.Batches;

/// <summary>
/// A batch's status as OpenAI names them: validating → in_progress → finalizing → completed; cancel moves
/// validating or in_progress to cancelling → cancelled; a batch whose input cannot be read at all is failed; a batch
/// still in_progress at its expires_at moves to expired (its unfinished lines go to the error file as batch_expired).
/// </summary>
internal static class BatchStatus
{
    public const string Validating = "validating";
    public const string InProgress = "in_progress";
    public const string Finalizing = "finalizing";
    public const string Completed = "completed";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
    public const string Expired = "expired";

    public static readonly IReadOnlyList<string> All = [Validating, InProgress, Finalizing, Completed, Cancelling, Cancelled, Failed, Expired];

    public static bool IsTerminal(string status) => status is Completed or Cancelled or Failed or Expired;
}

/// <summary>Where one input line stands. A line row is written pending once and moves to done or failed exactly once.</summary>
internal enum LineState
{
    Pending = 0,
    Done = 1,
    Failed = 2,
}
