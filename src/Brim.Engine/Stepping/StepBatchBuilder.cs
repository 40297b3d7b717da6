using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// Lays a step's schedule out as the backend's ragged <see cref="ForwardBatch"/>: the chunks' tokens end to end, one
/// <see cref="SequenceSlice"/> per chunk (start position, block table, whether its last token needs logits) in plan
/// order, and, when the backend samples on the device, one <see cref="DeviceSamplingRow"/> per logit row (verify rows
/// included; <see cref="DeviceSamplingPlan"/> says which come back as logits). Logit rows
/// follow the sampling chunks in plan order, so row r is the r-th chunk whose <see cref="ScheduledChunk.SamplesNextToken"/>
/// holds; <see cref="TokenAcceptor"/> walks the plan the same way instead of carrying a mapping array each step.
/// </summary>
/// <remarks>
/// Step loop only, once per step, before the forward pass: a device-sampling row draws its uniform from the sequence's
/// seeded stream here, so building a batch twice would shift every later sample of that sequence.
/// </remarks>
internal sealed class StepBatchBuilder(int blockSize, bool backendSamples)
{
    public StepBatch Build(SchedulerOutput plan)
    {
        var tokens = new int[plan.TokenCount];
        var slices = new SequenceSlice[plan.Chunks.Count];
        var deviceSampling = backendSamples ? new List<DeviceSamplingRow>() : null;
        int prefillTokens = 0, decodeTokens = 0, offlineTokens = 0;
        long contextTokens = 0;
        var at = 0;
        for (var i = 0; i < plan.Chunks.Count; i++)
        {
            var (seq, n) = plan.Chunks[i];
            var drafts = plan.Chunks[i].Drafts;
            for (var t = 0; t < n - drafts; t++)
            {
                tokens[at + t] = seq.Tokens[seq.ComputedTokens + t];
            }

            // A draft follows the sequence's last token; each of the 1 + k positions returns logits to verify against.
            for (var t = 0; t < drafts; t++)
            {
                tokens[at + n - drafts + t] = seq.Speculation.Draft[t];
            }

            var samples = plan.Chunks[i].SamplesNextToken;
            slices[i] = new SequenceSlice(at, n, seq.ComputedTokens, seq.Blocks.AsMemory(), samples, LogitTokens: 1 + drafts);
            at += n;
            contextTokens += seq.ComputedTokens + n;
            offlineTokens += seq.TrafficClass == TrafficClass.Offline ? n : 0;
            if (drafts > 0 || (n == 1 && seq.ComputedTokens > 0))
            {
                decodeTokens += n;
            }
            else
            {
                prefillTokens += n;
            }

            if (samples && deviceSampling is not null)
            {
                DeviceSamplingPlan.AddRows(deviceSampling, plan.Chunks[i]);
            }
        }

        var batch = new ForwardBatch(tokens, slices, blockSize, deviceSampling?.ToArray());
        return new StepBatch(batch, prefillTokens, decodeTokens, contextTokens, offlineTokens);
    }
}
