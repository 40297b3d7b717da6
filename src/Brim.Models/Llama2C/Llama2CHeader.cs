using System.Buffers.Binary;

namespace Brim.Models;

/// <summary>
/// The 7 little-endian int32 that open a legacy (version 0) llama2.c checkpoint, as read by llama2.c's run.c.
/// A negative vocab_size means an unshared classifier (wcls) follows the other weights.
/// </summary>
internal sealed record Llama2CHeader(int Dim, int HiddenDim, int NumLayers, int NumHeads, int NumKvHeads, int VocabSize, bool SharedClassifier, int SeqLen)
{
    public const int ByteSize = 7 * sizeof(int);

    /// <summary>"ak42" read as a little-endian int32: the magic of llama2.c's newer export versions, which this reader does not handle.</summary>
    private const uint VersionedExportMagic = 0x616b3432;

    public int HeadSize => Dim / NumHeads;

    public int KvDim => NumKvHeads * HeadSize;

    public static Llama2CHeader Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < ByteSize)
        {
            throw new ModelLoadException($"{path}: {bytes.Length} bytes is too short for a llama2.c checkpoint header ({ByteSize} bytes)");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) == VersionedExportMagic)
        {
            throw new ModelLoadException($"{path}: versioned llama2.c export (magic \"ak42\") is not supported; export with the legacy (version 0) format");
        }

        Span<int> fields = stackalloc int[7];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * sizeof(int))..]);
        }

        var vocab = fields[5];
        var header = new Llama2CHeader(fields[0], fields[1], fields[2], fields[3], fields[4], vocab == int.MinValue ? 0 : Math.Abs(vocab), vocab > 0, fields[6]);
        header.Check(path);
        return header;
    }

    public ModelConfig ToConfig() => new()
    {
        Architecture = "llama2.c",
        HiddenSize = Dim,
        IntermediateSize = HiddenDim,
        NumLayers = NumLayers,
        NumHeads = NumHeads,
        NumKvHeads = NumKvHeads,
        HeadDim = HeadSize,
        VocabSize = VocabSize,
        MaxPositions = SeqLen,
        RmsNormEps = 1e-5f,
        RopeTheta = 10000.0,
        RopeStyle = RopeStyle.Interleaved,
        TieWordEmbeddings = SharedClassifier,
        BosTokenId = 1,
        EosTokenIds = [2],
        WeightDType = TensorDType.F32,
    };

    private void Check(string path)
    {
        if (Dim <= 0 || HiddenDim <= 0 || NumLayers <= 0 || NumHeads <= 0 || NumKvHeads <= 0 || VocabSize <= 0 || SeqLen <= 0)
        {
            throw new ModelLoadException($"{path}: not a llama2.c checkpoint (header {this} has non-positive fields)");
        }

        if (Dim % NumHeads != 0)
        {
            throw new ModelLoadException($"{path}: not a llama2.c checkpoint (dim {Dim} is not a multiple of n_heads {NumHeads})");
        }
    }
}
