using System.Globalization;
using System.Text;
using Brim.Tokenization;

namespace Brim.Server.Hosting;

/// <summary>
/// The tokenizer of a dummy-weights model that ships no tokenizer files: token i decodes as " t{i}" and encodes back
/// from that form, so benchmarks of real shapes can run through the whole engine. Not a tokenizer for real text.
/// </summary>
internal sealed class NumberedTokenizer(int vocabSize, int? bosTokenId, IReadOnlyList<int> eosTokenIds) : ITokenizer
{
    public int VocabSize => vocabSize;

    public int? BosTokenId => bosTokenId;

    public IReadOnlyList<int> EosTokenIds => eosTokenIds;

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        if (addSpecialTokens && bosTokenId is { } bos)
        {
            ids.Add(bos);
        }

        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            ids.Add(word.StartsWith('t') && int.TryParse(word.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id < vocabSize
                ? id
                : (int)((uint)word.GetHashCode() % (uint)vocabSize));
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (!(skipSpecialTokens && IsSpecial(id)))
            {
                sb.Append(CultureInfo.InvariantCulture, $" t{id}");
            }
        }

        return sb.ToString();
    }

    public int? TokenToId(string token) => null;

    public bool IsSpecial(int id) => id == bosTokenId || eosTokenIds.Contains(id);
}
