namespace Brim.Tokenization.ByteLevel;

/// <summary>
/// GPT-2's bytes_to_unicode: every byte maps to a printable character so that byte strings can live in a JSON
/// vocabulary. Printable Latin-1 bytes map to themselves; the others to U+0100 upwards, in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] CharOfByte = BuildCharOfByte();

    private static readonly Dictionary<char, byte> ByteOfChar =
        Enumerable.Range(0, 256).ToDictionary(b => CharOfByte[b], b => (byte)b);

    public static bool TryGetByte(char c, out byte value) => ByteOfChar.TryGetValue(c, out value);

    private static char[] BuildCharOfByte()
    {
        var map = new char[256];
        int nextExtra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + nextExtra++);
        }
        return map;
    }
}
