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

/// <summary>Trains a GPT-2 style byte-level BPE on a corpus as Hugging Face's BpeTrainer does for ByteLevelBPETokenizer
/// (all 256 byte chars in the alphabet, <c>&lt;|endoftext|&gt;</c> first), deterministically.</summary>
public static class BpeTrainer
{
    /// <param name="corpus">Texts, pre-tokenized with the GPT-2 pattern.</param>
    /// <param name="vocabSize">Vocabulary size, end-of-text and the 256 byte chars included.</param>
    /// <param name="minFrequency">A pair seen fewer times is not merged.</param>
    /// <param name="lowercase">Lowercase the text first (a Lowercase normalizer in tokenizer.json).</param>
    public static ByteLevelBpeTokenizer Train(IEnumerable<string> corpus, int vocabSize, int minFrequency, bool lowercase = false)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var counts = new Dictionary<string, long>();
        var lower = new LowercaseNormalizer();
        foreach (var raw in corpus)
        {
            string text = lowercase ? lower.Normalize(NormalizedText.Of(raw, 0, raw.Length)).Text : raw;
            for (int at = 0; at < text.Length;)
            {
                int end = ByteLevel.NextPreToken(text, at, text.Length);
                var word = ByteLevel.ToByteChars(text.AsSpan(at, end - at));
                counts[word] = counts.GetValueOrDefault(word) + 1;
                at = end;
            }
        }
        var result = MergeTraining.Train(counts, vocabSize, minFrequency, [ByteLevelBpeTokenizer.EndOfText], ByteLevel.Alphabet,
            continuingPrefix: "", limitAlphabet: null);
        return new ByteLevelBpeTokenizer(result.Vocab, result.Merges, lowercase);
    }
}
