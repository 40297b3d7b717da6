using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// Stands in for the model in scheduler policy tests: what the engine does after a forward pass, and nothing else —
/// mark each chunk computed, append a token where one is sampled, finish sequences at max_tokens.
/// </summary>
internal static class SchedulerSimulator
{
    public static List<Sequence> Advance(Scheduler scheduler, SchedulerOutput plan)
    {
        var finished = new List<Sequence>();
        foreach (var chunk in plan.Chunks.ToList())
        {
            var samples = chunk.SamplesNextToken;
            scheduler.Computed(chunk);
            if (samples)
            {
                chunk.Sequence.Append(7);
                if (chunk.Sequence.OutputLength >= chunk.Sequence.Request.Sampling.MaxTokens)
                {
                    scheduler.Finish(chunk.Sequence);
                    finished.Add(chunk.Sequence);
                }
            }
        }

        foreach (var rejected in plan.Rejected)
        {
            rejected.Status = SequenceStatus.Finished;
        }

        return finished;
    }
}
