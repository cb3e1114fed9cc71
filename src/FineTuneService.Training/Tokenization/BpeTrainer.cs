namespace FineTuneService.Training.Tokenization;

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
