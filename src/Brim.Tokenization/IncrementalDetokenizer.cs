namespace Brim.Tokenization;

/// <summary>Placeholder until the windowed implementation lands: decodes the whole output each time.</summary>
public sealed class IncrementalDetokenizer(ITokenizer tokenizer, IReadOnlyList<int> prompt)
{
    private readonly List<int> _ids = [];
    private string _emitted = string.Empty;

    public IReadOnlyList<int> Prompt { get; } = prompt;

    public string Push(int tokenId)
    {
        _ids.Add(tokenId);
        var text = tokenizer.Decode(_ids.ToArray());
        if (text.EndsWith('\uFFFD'))
        {
            return string.Empty;
        }

        var delta = text[_emitted.Length..];
        _emitted = text;
        return delta;
    }
}
