namespace FineTuneService.Training.Data;

/// <summary>One line of a corpus document as token ids without special tokens. <c>WordStarts[i]</c> is true where
/// token i begins a word (its word id differs from the previous token's), which whole-word masking groups by.</summary>
public sealed record TokenizedSentence(int[] Ids, bool[] WordStarts)
{
    public int Length => Ids.Length;

    /// <summary>From a tokenizer's per-token word ids (null for special tokens).</summary>
    public static TokenizedSentence FromWordIds(int[] ids, IReadOnlyList<int?> wordIds)
    {
        var starts = new bool[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            starts[i] = i == 0 || wordIds[i] is null || wordIds[i] != wordIds[i - 1];
        return new TokenizedSentence(ids, starts);
    }
}
