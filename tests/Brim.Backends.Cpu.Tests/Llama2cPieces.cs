using System.Text;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// The smallest decoder of a llama2.c tokenizer file (tok512.bin: int max_len, then per token float score, int len,
/// bytes) that reproduces run.c's output: a piece after BOS loses its leading space, "&lt;0xXX&gt;" pieces are raw bytes.
/// </summary>
internal sealed class Llama2cPieces
{
    private const int Bos = 1;
    private readonly byte[][] _pieces;

    public Llama2cPieces(string path, int vocabSize)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadInt32();
        _pieces = new byte[vocabSize][];
        for (var i = 0; i < vocabSize; i++)
        {
            reader.ReadSingle();
            _pieces[i] = reader.ReadBytes(reader.ReadInt32());
        }
    }

    /// <summary>The text of <paramref name="tokens"/> (generated after BOS), as run.c prints it.</summary>
    public string Decode(IReadOnlyList<int> tokens)
    {
        var bytes = new List<byte>();
        var previous = Bos;
        foreach (var token in tokens)
        {
            var piece = _pieces[token];
            if (previous == Bos && piece.Length > 0 && piece[0] == (byte)' ')
            {
                piece = piece[1..];
            }

            var text = Encoding.ASCII.GetString(piece);
            if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text.EndsWith('>'))
            {
                bytes.Add(Convert.ToByte(text[3..5], 16));
            }
            else
            {
                bytes.AddRange(piece);
            }

            previous = token;
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
