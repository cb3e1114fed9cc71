using System.Buffers;

namespace FineTuneService.Training.Tokenization;

/// <summary>Finds special tokens written literally in a text, leftmost-longest, before normalization
/// (Hugging Face's added-vocabulary split for tokens with normalized=false).</summary>
sealed class SpecialTokenMatcher
{
    readonly SpecialToken[] tokens;
    readonly SearchValues<char> firstChars;

    public SpecialTokenMatcher(IEnumerable<SpecialToken> specials)
    {
        tokens = specials.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        firstChars = SearchValues.Create(tokens.Select(t => t.Content[0]).Distinct().ToArray());
    }

    /// <summary>The start of the first special token at or after <paramref name="from"/>, or -1.</summary>
    public int FindNext(string input, int from, out SpecialToken? match)
    {
        match = null;
        if (tokens.Length == 0)
            return -1;
        int at = from;
        while (at < input.Length)
        {
            int found = input.AsSpan(at).IndexOfAny(firstChars);
            if (found < 0)
                return -1;
            at += found;
            var rest = input.AsSpan(at);
            foreach (var token in tokens)
            {
                if (rest.StartsWith(token.Content, StringComparison.Ordinal))
                {
                    match = token;
                    return at;
                }
            }
            at++;
        }
        return -1;
    }
}
