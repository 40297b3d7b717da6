namespace Brim.ChatTemplates.Jinja;

/// <summary>A 1-based line and column in a template's source text.</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public override string ToString() => $"line {Line}, column {Column}";
}

/// <summary>Maps character offsets in a template to line and column, for error messages.</summary>
internal sealed class LineMap
{
    private readonly int[] _lineStarts;

    public LineMap(string source)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                starts.Add(i + 1);
            }
        }

        _lineStarts = [.. starts];
    }

    public SourcePosition At(int offset)
    {
        int index = Array.BinarySearch(_lineStarts, offset);
        int line = index >= 0 ? index : ~index - 1;
        return new SourcePosition(line + 1, offset - _lineStarts[line] + 1);
    }
}
