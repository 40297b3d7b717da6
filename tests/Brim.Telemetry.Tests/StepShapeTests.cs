using Brim.Engine;
using Brim.Telemetry.Cost;

namespace Brim.Telemetry.Tests;

public class StepShapeTests
{
    private static StepRecord Record(int sequences, int prefill, int decode, int sampled, long context) =>
        new(1, sequences, prefill, decode, sampled, sequences, 0, 64, 10, 100, 0, 0.01, 0.012, context);

    [Fact]
    public void FromRecord_DecodeOnly_AttendsToEveryContextPosition()
    {
        // Three decode sequences at contexts 10, 20, 30 (after writing their new token): 60 positions attended and read.
        var shape = StepShape.FromRecord(Record(sequences: 3, prefill: 0, decode: 3, sampled: 3, context: 60));

        Assert.Equal(new StepShape(3, 60, 60, 3, 3), shape);
    }

    [Fact]
    public void FromRecord_FreshPrefillChunks_CountsCausalTriangle()
    {
        // Two prompts of 4 tokens each from position 0: each token i attends to i + 1 positions, 1+2+3+4 = 10 per prompt.
        var shape = StepShape.FromRecord(Record(sequences: 2, prefill: 8, decode: 0, sampled: 2, context: 8));

        Assert.Equal(20, shape.AttendedPositions);
        Assert.Equal(8, shape.KvReadPositions);
        Assert.Equal(8, shape.Tokens);
    }

    [Fact]
    public void FromRecord_MixedStep_AddsDecodeContextsAndPrefillTriangle()
    {
        // Decode sequences at contexts 100 and 50, one fresh 10-token prompt: 150 + 10·11/2 = 205.
        var shape = StepShape.FromRecord(Record(sequences: 3, prefill: 10, decode: 2, sampled: 3, context: 160));

        Assert.Equal(205, shape.AttendedPositions);
        Assert.Equal(12, shape.KvWrittenPositions);
    }

    [Fact]
    public void Decode_EqualContexts_SameShapeAsTheDecodeStepRecord()
    {
        // Four sequences at context 130 each: the engine's record carries their total, 520.
        Assert.Equal(StepShape.FromRecord(Record(sequences: 4, prefill: 0, decode: 4, sampled: 4, context: 520)), StepShape.Decode(4, 130));
        Assert.Throws<ArgumentOutOfRangeException>(() => StepShape.Decode(4, 0));
    }
}
