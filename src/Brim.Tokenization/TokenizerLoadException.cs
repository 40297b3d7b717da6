namespace Brim.Tokenization;

/// <summary>A tokenizer file is missing, malformed or of a kind Brim does not support. The message names the file.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string filePath, string problem, Exception? inner = null)
        : base($"Cannot load tokenizer from '{filePath}': {problem}", inner)
    {
        FilePath = filePath;
    }

    /// <summary>The file (or directory) that could not be loaded.</summary>
    public string FilePath { get; }
}
