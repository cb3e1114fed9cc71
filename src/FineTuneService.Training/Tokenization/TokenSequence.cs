namespace FineTuneService.Training.Tokenization;

/// <summary>The tokens of one sequence while it is encoded: growable arrays, reused between calls.</summary>
internal sealed class TokenSequence
{
    public int Count { get; private set; }
    public int[] Ids = new int[64];
    public (int Start, int End)[] Offsets = new (int, int)[64];
    public int[] WordIds = new int[64];

    public void Clear() => Count = 0;

    public void Add(int id, int start, int end, int wordId)
    {
        if (Count == Ids.Length)
        {
            Array.Resize(ref Ids, Count * 2);
            Array.Resize(ref Offsets, Count * 2);
            Array.Resize(ref WordIds, Count * 2);
        }
        Ids[Count] = id;
        Offsets[Count] = (start, end);
        WordIds[Count] = wordId;
        Count++;
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens (Hugging Face truncates from the right).</summary>
    public void Truncate(int length) => Count = Math.Min(Count, length);
}

/// <summary>Truncation and the special-token template shared by the tokenizers: `[CLS] A [SEP] (B [SEP])` for BERT,
/// nothing for GPT-2 (<c>cls</c> and <c>sep</c> null), with token type ids 0 for A and 1 for B.</summary>
internal static class EncodingTemplate
{
    public static Encoding Build(TokenSequence first, TokenSequence? second, int? maxLength, TruncationStrategy truncation,
        bool addSpecialTokens, int? cls, int? sep, string[] idToToken)
    {
        int specials = addSpecialTokens
            ? (cls.HasValue ? 1 : 0) + (sep.HasValue ? 1 : 0) * (second is null ? 1 : 2)
            : 0;
        if (maxLength is int max)
            Truncate(first, second, max - specials, truncation, max);

        int n = first.Count + (second?.Count ?? 0) + specials;
        var ids = new int[n];
        var typeIds = new int[n];
        var tokens = new string[n];
        var offsets = new (int Start, int End)[n];
        var wordIds = new int?[n];
        int at = 0;

        void Special(int id, int typeId)
        {
            ids[at] = id;
            typeIds[at] = typeId;
            tokens[at] = idToToken[id];
            at++;
        }

        void Sequence(TokenSequence seq, int typeId)
        {
            for (int i = 0; i < seq.Count; i++, at++)
            {
                int id = seq.Ids[i];
                ids[at] = id;
                typeIds[at] = typeId;
                tokens[at] = idToToken[id];
                offsets[at] = seq.Offsets[i];
                wordIds[at] = seq.WordIds[i];
            }
        }

        if (addSpecialTokens && cls is int c) Special(c, 0);
        Sequence(first, 0);
        if (addSpecialTokens && sep is int s) Special(s, 0);
        if (second is not null)
        {
            Sequence(second, 1);
            if (addSpecialTokens && sep is int s2) Special(s2, 1);
        }
        return new Encoding(ids, typeIds, tokens, offsets, wordIds);
    }

    /// <summary>Hugging Face `tokenizers`' truncate_encodings: <paramref name="budget"/> is max_length less the special tokens.</summary>
    private static void Truncate(TokenSequence first, TokenSequence? second, int budget, TruncationStrategy strategy, int maxLength)
    {
        if (budget < 0)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                "max_length is shorter than the special tokens the template adds.");
        int total = first.Count + (second?.Count ?? 0);
        if (total <= budget)
            return;
        int toRemove = total - budget;
        switch (strategy)
        {
            case TruncationStrategy.LongestFirst when second is null:
                first.Truncate(budget);
                break;
            case TruncationStrategy.LongestFirst:
            {
                // Split the budget as Hugging Face does: the shorter keeps all of itself if it fits in half,
                // otherwise both get half and the longer (the second when equal) gets the odd token.
                int n1 = first.Count, n2 = second.Count;
                bool swap = n1 > n2;
                if (swap) (n1, n2) = (n2, n1);
                n2 = n1 > budget ? n1 : Math.Max(n1, budget - n1);
                if (n1 + n2 > budget)
                {
                    n1 = budget / 2;
                    n2 = n1 + budget % 2;
                }
                if (swap) (n1, n2) = (n2, n1);
                first.Truncate(n1);
                second.Truncate(n2);
                break;
            }
            case TruncationStrategy.OnlyFirst:
            case TruncationStrategy.OnlySecond:
            {
                var target = strategy == TruncationStrategy.OnlyFirst
                    ? first
                    : second ?? throw new ArgumentException("only_second truncation needs a text pair.", nameof(strategy));
                if (target.Count <= toRemove)
                    throw new ArgumentException(
                        $"The sequence to truncate ({target.Count} tokens) is too short to fit max_length {maxLength}.", nameof(maxLength));
                target.Truncate(target.Count - toRemove);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null);
        }
    }
}
