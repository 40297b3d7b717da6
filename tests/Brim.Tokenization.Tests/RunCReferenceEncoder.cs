using System.Buffers.Binary;
using System.Text;

namespace Brim.Tokenization.Tests;

/// <summary>
/// A literal port of llama2.c run.c's encode() (quadratic: rescan all pairs after each merge, concatenate strings,
/// look them up, keep the first best score). It reads tokenizer.bin on its own, so it checks the real tokenizer's
/// heap-based, word-cached merging against the algorithm as llama2.c states it.
/// </summary>
internal sealed class RunCReferenceEncoder
{
    private readonly List<byte[]> _vocab = [];
    private readonly List<float> _scores = [];
    private readonly Dictionary<string, int> _lookup = new(StringComparer.Ordinal);

    public RunCReferenceEncoder(byte[] file)
    {
        for (int position = 4; position < file.Length;)
        {
            _scores.Add(BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(position)));
            int length = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(position + 4));
            _vocab.Add(file.AsSpan(position + 8, length).ToArray());
            position += 8 + length;
        }
        for (int i = _vocab.Count - 1; i >= 0; i--)
        {
            _lookup[Latin1(_vocab[i])] = i; // byte strings, compared byte-wise as strcmp does
        }
    }

    public List<int> Encode(string text)
    {
        var tokens = new List<int> { 1 }; // bos
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        if (utf8.Length > 0)
        {
            tokens.Add(_lookup[" "]);
        }
        for (int i = 0; i < utf8.Length;)
        {
            int length = 1;
            while (i + length < utf8.Length && (utf8[i + length] & 0xC0) == 0x80 && length < 4)
            {
                length++;
            }
            if (_lookup.TryGetValue(Latin1(utf8.AsSpan(i, length)), out int id))
            {
                tokens.Add(id);
            }
            else
            {
                for (int b = 0; b < length; b++)
                {
                    tokens.Add(utf8[i + b] + 3);
                }
            }
            i += length;
        }
        while (true)
        {
            float bestScore = -1e10f;
            int bestId = -1;
            int bestIndex = -1;
            for (int i = 0; i + 1 < tokens.Count; i++) // run.c scans from its BOS on
            {
                string merged = Latin1([.. _vocab[tokens[i]], .. _vocab[tokens[i + 1]]]);
                if (_lookup.TryGetValue(merged, out int id) && _scores[id] > bestScore)
                {
                    bestScore = _scores[id];
                    bestId = id;
                    bestIndex = i;
                }
            }
            if (bestIndex == -1)
            {
                return tokens;
            }
            tokens[bestIndex] = bestId;
            tokens.RemoveAt(bestIndex + 1);
        }
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
