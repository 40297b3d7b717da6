using Brim.Tokenization.Bpe;
using Brim.Tokenization.Loading;

namespace Brim.Tokenization.SentencePiece;

/// <summary>Turns a parsed tokenizer.model into a tokenizer that encodes like Hugging Face's Llama tokenizer.</summary>
internal static class SentencePieceModelLoader
{
    public static SentencePieceBpeTokenizer Load(SentencePieceModel model, ModelTokenizerConfig config)
    {
        if (model.ModelType != SentencePieceModel.BpeModelType)
        {
            throw new InvalidDataException($"Unsupported SentencePiece model type {model.ModelType} (Brim supports BPE = 2).");
        }
        var idOfPiece = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            idOfPiece.TryAdd(model.Pieces[id], id);
        }
        // SentencePiece merges only into normal and user-defined pieces, by the merged piece's score.
        MergeTable merges = MergeTable.FromPieceScores(model.Pieces, model.Scores, idOfPiece,
            id => model.Types[id] is SentencePieceModel.PieceType.Normal or SentencePieceModel.PieceType.UserDefined);

        var added = new List<AddedToken>();
        int? unknownId = null;
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            switch (model.Types[id])
            {
                case SentencePieceModel.PieceType.Unknown:
                    unknownId = id;
                    added.Add(new AddedToken(id, model.Pieces[id], IsSpecial: true));
                    break;
                case SentencePieceModel.PieceType.Control:
                    added.Add(new AddedToken(id, model.Pieces[id], IsSpecial: true));
                    break;
                case SentencePieceModel.PieceType.UserDefined:
                    added.Add(new AddedToken(id, model.Pieces[id], IsSpecial: false));
                    break;
            }
        }

        // Hugging Face's Llama tokenizer (legacy=false) adds the dummy prefix once, at the start of the text.
        var options = new SentencePieceOptions(
            model.AddDummyPrefix ? DummyPrefixScope.FirstSegment : DummyPrefixScope.None,
            PrefixOnlyIfNoLeadingSpace: false, model.RemoveExtraWhitespaces, unknownId, FuseUnknown: true, model.ByteFallback);
        var tokenizer = new SentencePieceBpeTokenizer(model.Pieces.ToArray(), merges, added, options);

        int? bos = tokenizer.TokenToId("<s>");
        int? eos = tokenizer.TokenToId("</s>");
        tokenizer.BosTokenId = bos;
        tokenizer.EosTokenIds = eos is int e ? [e] : [];
        // LlamaTokenizer adds BOS unless add_bos_token is false, and EOS only if add_eos_token is true.
        tokenizer.PrefixIds = config.AddBosToken != false && bos is int b ? [b] : [];
        tokenizer.SuffixIds = config.AddEosToken == true && eos is int s ? [s] : [];
        return tokenizer;
    }
}
