using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Data;

/// <summary>Tokenizes streamed corpus documents for the pretraining example builders, one document at a time.</summary>
public static class CorpusTokenization
{
    /// <summary>Each document as its lines' tokens, without special tokens; lines and documents left empty are dropped.</summary>
    public static IEnumerable<IReadOnlyList<TokenizedSentence>> Sentences(this IEnumerable<CorpusDocument> documents, ITokenizer tokenizer) =>
        documents
            .Select(d => (IReadOnlyList<TokenizedSentence>)d.Lines
                .Select(line => tokenizer.Encode(line, addSpecialTokens: false))
                .Where(e => e.Length > 0)
                .Select(e => TokenizedSentence.FromWordIds(e.Ids, e.WordIds))
                .ToList())
            .Where(d => d.Count > 0);

    /// <summary>Each document's text (its lines joined by newlines) as token ids, for causal-LM blocks; empty ones dropped.</summary>
    public static IEnumerable<int[]> TokenIds(this IEnumerable<CorpusDocument> documents, ITokenizer tokenizer) =>
        documents.Select(d => tokenizer.Encode(string.Join('\n', d.Lines), addSpecialTokens: false).Ids).Where(ids => ids.Length > 0);
}
