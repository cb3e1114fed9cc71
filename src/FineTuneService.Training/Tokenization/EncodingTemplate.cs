namespace FineTuneService.Training.Tokenization;

/// <summary>Truncation and the post-processor's template, shared by the tokenizers.</summary>
static class EncodingTemplate
{
    public static Encoding Build(TokenSequence first, TokenSequence? second, int? maxLength, TruncationStrategy truncation,
        bool addSpecialTokens, PostTemplate template, string[] idToToken)
    {
        var pieces = addSpecialTokens ? (second is null ? template.Single : template.Pair) : PostTemplate.None.Pair;
        int specials = addSpecialTokens ? template.SpecialCount(second is not null) : 0;
        if (maxLength is int max)
            Truncate(first, second, max - specials, truncation, max);

        int n = first.Count + (second?.Count ?? 0) + specials;
        var ids = new int[n];
        var typeIds = new int[n];
        var tokens = new string[n];
        var offsets = new (int Start, int End)[n];
        var wordIds = new int?[n];
        int at = 0;
        foreach (var piece in pieces)
        {
            if (piece.SpecialId is int id)
            {
                ids[at] = id;
                typeIds[at] = piece.TypeId;
                tokens[at] = idToToken[id];
                at++;
                continue;
            }
            var seq = piece.Second ? second : first;
            if (seq is null)
                continue;
            for (int i = 0; i < seq.Count; i++, at++)
            {
                ids[at] = seq.Ids[i];
                typeIds[at] = piece.TypeId;
                tokens[at] = idToToken[seq.Ids[i]];
                offsets[at] = seq.Offsets[i];
                wordIds[at] = seq.WordIds[i];
            }
        }
        return new Encoding(ids, typeIds, tokens, offsets, wordIds);
    }

    /// <summary>Hugging Face `tokenizers`' truncate_encodings: <paramref name="budget"/> is max_length less the special tokens.</summary>
    static void Truncate(TokenSequence first, TokenSequence? second, int budget, TruncationStrategy strategy, int maxLength)
    {
        if (budget < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                "max_length is shorter than the special tokens the template adds.");
        }

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
                    {
                        throw new ArgumentException(
                            $"The sequence to truncate ({target.Count} tokens) is too short to fit max_length {maxLength}.", nameof(maxLength));
                    }

                    target.Truncate(target.Count - toRemove);
                    break;
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null);
        }
    }
}
