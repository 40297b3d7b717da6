using Brim.Models;
using Brim.Telemetry.Cost;

namespace Brim.Telemetry.Tests;

/// <summary>The FLOP/byte model against arithmetic done by hand for Llama-3.1-8B (h 4096, 32 layers, 32 heads, 8 KV heads, head 128, ff 14336, vocab 128256, bf16).</summary>
public class ModelCostModelTests
{
    private readonly ModelCostModel _model = new(Llama31.Config8B);

    [Fact]
    public void Constructor_Llama31_8B_CountsParametersByHand()
    {
        // Per layer: q 4096·4096 = 16,777,216; k and v 2·4096·1024 = 8,388,608; o 4096·4096 = 16,777,216;
        // gate, up, down 3·4096·14336 = 176,160,768 → 218,103,808 linear weights; ×32 layers = 6,979,321,856.
        Assert.Equal(6_979_321_856L, _model.LinearParameters);
        // + norms 32·2·4096 + 4096 = 266,240; + embedding and lm_head 2·128256·4096 = 1,050,673,152 → 8,030,261,248.
        Assert.Equal(8_030_261_248L, Llama31.Config8B.ParameterCount);
        Assert.Equal(525_336_576L, _model.OutputProjectionParameters);
    }

    [Fact]
    public void Constructor_Llama31_8B_PerTokenConstantsByHand()
    {
        // 2 FLOPs (multiply + add) per linear weight: 2 · 6,979,321,856.
        Assert.Equal(13_958_643_712L, _model.MatmulFlopsPerToken);
        // q·k and p·v: 2·128 + 2·128 FLOPs per head per attended position, 32 heads, 32 layers: 4·32·32·128.
        Assert.Equal(524_288L, _model.AttentionFlopsPerPosition);
        // lm_head: 2 · 4096 · 128256.
        Assert.Equal(1_050_673_152L, _model.LogitFlopsPerRow);
        // K and V, 32 layers, 8 KV heads · 128, 2 bytes: 2·32·1024·2 = 131,072 bytes (128 KiB) per position.
        Assert.Equal(131_072L, _model.KvBytesPerPosition);
        // Decoder weights (linear + norms) 6,979,588,096 · 2 bytes; lm_head 525,336,576 · 2.
        Assert.Equal(13_959_176_192L, _model.DecoderWeightBytes);
        Assert.Equal(1_050_673_152L, _model.OutputProjectionBytes);
    }

    [Fact]
    public void Estimate_OneDecodeTokenAtContext1024_MatchesHandArithmetic()
    {
        // One sequence, its new token at position 1023 attends to 1024 positions and writes one.
        var cost = _model.Estimate(new StepShape(Tokens: 1, AttendedPositions: 1024, KvReadPositions: 1024, KvWrittenPositions: 1, SampledRows: 1));

        // 13,958,643,712 + 1024·524,288 (536,870,912) + 1,050,673,152 = 15,546,187,776 FLOPs.
        Assert.Equal(15_546_187_776d, cost.Flops);
        // Read: decoder 13,959,176,192 + lm_head 1,050,673,152 + one embedding row 8,192 + KV 1024·131,072 (134,217,728)
        //     = 15,144,075,264.
        Assert.Equal(15_144_075_264d, cost.BytesRead);
        // Written: KV 131,072 + fp32 logits 128256·4 = 513,024 → 644,096.
        Assert.Equal(644_096d, cost.BytesWritten);
    }

    [Fact]
    public void Estimate_Batch64Decode_WeightsReadOncePerStep()
    {
        // 64 sequences at context 1024: matmul and attention FLOPs ×64, weights still read once.
        var one = _model.Estimate(new StepShape(1, 1024, 1024, 1, 1));
        var many = _model.Estimate(new StepShape(64, 64 * 1024, 64 * 1024, 64, 64));

        Assert.Equal(64 * one.Flops, many.Flops);
        // 13,959,176,192 + 1,050,673,152 + 64·8,192 (524,288) + 64·134,217,728 (8,589,934,592) = 23,600,308,224 bytes.
        Assert.Equal(23_600_308_224d, many.BytesRead);
        Assert.True(many.BytesRead < 2 * one.BytesRead, "batching must amortize the weight reads");
    }

    [Fact]
    public void Estimate_PrefillChunkWithoutSampling_SkipsLogitsAndOutputProjection()
    {
        // A 512-token chunk of a longer prompt from position 0: causal attention 512·513/2 = 131,328 positions.
        var cost = _model.Estimate(new StepShape(512, 131_328, 512, 512, 0));

        // 512 · 13,958,643,712 + 131,328 · 524,288 = 7,146,825,580,544 + 68,853,694,464 = 7,215,679,275,008.
        Assert.Equal(7_215_679_275_008d, cost.Flops);
        // Decoder 13,959,176,192 + 512 embedding rows (4,194,304) + KV read 512·131,072 (67,108,864) = 14,030,479,360.
        Assert.Equal(14_030_479_360d, cost.BytesRead);
        Assert.Equal(512d * 131_072, cost.BytesWritten);
    }

    [Fact]
    public void Constructor_WiderKvDType_ScalesKvBytes()
    {
        // A float32 KV cache: 4 bytes per element doubles the bf16 figure.
        var wide = new ModelCostModel(Llama31.Config8B, TensorDType.F32);
        Assert.Equal(2 * _model.KvBytesPerPosition, wide.KvBytesPerPosition);
    }

    [Fact]
    public void Estimate_MoreSampledRowsThanTokens_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.Estimate(new StepShape(1, 1, 1, 1, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.Estimate(new StepShape(-1, 0, 0, 0, 0)));
    }
}
