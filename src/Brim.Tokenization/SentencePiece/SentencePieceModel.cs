namespace Brim.Tokenization.SentencePiece;

/// <summary>The parts of a SentencePiece tokenizer.model (a ModelProto protobuf) that BPE encoding needs.</summary>
internal sealed class SentencePieceModel
{
    public enum PieceType
    {
        Normal = 1,
        Unknown = 2,
        Control = 3,
        UserDefined = 4,
        Unused = 5,
        Byte = 6,
    }

    public const int UnigramModelType = 1;
    public const int BpeModelType = 2;

    public List<string> Pieces { get; } = [];

    public List<float> Scores { get; } = [];

    public List<PieceType> Types { get; } = [];

    public int ModelType { get; private set; } = UnigramModelType;

    public bool ByteFallback { get; private set; }

    public bool AddDummyPrefix { get; private set; } = true;

    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public static SentencePieceModel Parse(ReadOnlySpan<byte> data)
    {
        var model = new SentencePieceModel();
        var reader = new ProtobufReader(data);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (1, ProtobufReader.LengthDelimited):
                    model.ReadPiece(reader.ReadBytes());
                    break;
                case (2, ProtobufReader.LengthDelimited):
                    model.ReadTrainerSpec(reader.ReadBytes());
                    break;
                case (3, ProtobufReader.LengthDelimited):
                    model.ReadNormalizerSpec(reader.ReadBytes());
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }
        if (model.Pieces.Count == 0)
        {
            throw new InvalidDataException("The SentencePiece model has no pieces.");
        }
        return model;
    }

    private void ReadPiece(ReadOnlySpan<byte> data)
    {
        string piece = "";
        float score = 0;
        var type = PieceType.Normal;
        var reader = new ProtobufReader(data);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (1, ProtobufReader.LengthDelimited):
                    piece = System.Text.Encoding.UTF8.GetString(reader.ReadBytes());
                    break;
                case (2, ProtobufReader.Fixed32):
                    score = reader.ReadFloat();
                    break;
                case (3, ProtobufReader.Varint):
                    type = (PieceType)reader.ReadVarint();
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }
        Pieces.Add(piece);
        Scores.Add(score);
        Types.Add(type);
    }

    private void ReadTrainerSpec(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (3, ProtobufReader.Varint):
                    ModelType = (int)reader.ReadVarint();
                    break;
                case (35, ProtobufReader.Varint):
                    ByteFallback = reader.ReadVarint() != 0;
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }
    }

    private void ReadNormalizerSpec(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        while (reader.TryReadTag(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (3, ProtobufReader.Varint):
                    AddDummyPrefix = reader.ReadVarint() != 0;
                    break;
                case (4, ProtobufReader.Varint):
                    RemoveExtraWhitespaces = reader.ReadVarint() != 0;
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }
    }
}
