namespace FineTuneService.Training.Tokenization;

/// <summary>Trains a BERT WordPiece vocabulary on a corpus as Hugging Face's WordPieceTrainer does (BPE-style merges
/// with the <c>##</c> continuation prefix), deterministically.</summary>
public static class WordPieceTrainer
{
    public static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <param name="corpus">Texts (lines, sentences or documents), normalized and pre-tokenized as BERT does.</param>
    /// <param name="vocabSize">Vocabulary size, special tokens and alphabet included.</param>
    /// <param name="lowercase">Lowercase and strip accents (an uncased vocabulary).</param>
    /// <param name="minFrequency">A pair seen fewer times is not merged.</param>
    /// <param name="limitAlphabet">At most this many distinct chars (the most frequent), as Hugging Face's BertWordPieceTokenizer.</param>
    public static WordPieceTokenizer Train(IEnumerable<string> corpus, int vocabSize, bool lowercase, int minFrequency, int limitAlphabet = 1000)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var normalizer = new BertNormalizer(cleanText: true, handleChineseChars: true, stripAccents: null, lowercase);
        var counter = new WordCounter();
        var buffer = new WordBuffer();
        foreach (var text in corpus)
            normalizer.PreTokenize(text, 0, text.Length, buffer, ref counter);
        var result = MergeTraining.Train(counter.Counts, vocabSize, minFrequency, SpecialTokens, [],
            WordPieceTokenizer.ContinuingSubwordPrefix, limitAlphabet);
        return new WordPieceTokenizer(result.Vocab, lowercase);
    }

    readonly struct WordCounter() : BertNormalizer.IWordSink
    {
        public Dictionary<string, long> Counts { get; } = new();

        public void OnWord(WordBuffer word)
        {
            var lookup = Counts.GetAlternateLookup<ReadOnlySpan<char>>();
            var chars = word.Chars.AsSpan(0, word.Length);
            lookup[chars] = lookup.TryGetValue(chars, out long count) ? count + 1 : 1;
        }
    }
}
