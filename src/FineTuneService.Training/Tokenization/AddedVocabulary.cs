namespace FineTuneService.Training.Tokenization;

/// <summary>Hugging Face's added vocabulary: finds the added tokens in a text (leftmost-longest, with lstrip/rstrip),
/// the raw ones first, then, in each normalized piece between them, the normalized ones.</summary>
sealed class AddedVocabulary
{
    readonly Dictionary<int, AddedToken> byId;
    readonly SpecialTokenMatcher raw;
    readonly SpecialTokenMatcher normalized;

    public AddedVocabulary(IReadOnlyList<AddedToken> tokens, TextNormalizer? normalizer)
    {
        byId = tokens.ToDictionary(t => t.Id);
        raw = new SpecialTokenMatcher(tokens.Where(t => !t.Normalized).Select(t => new SpecialToken(t.Id, t.Content)));
        // A normalized token is looked for as the normalizer writes it.
        normalized = new SpecialTokenMatcher(tokens.Where(t => t.Normalized).Select(t => new SpecialToken(t.Id,
            normalizer?.Normalize(NormalizedText.Of(t.Content, 0, t.Content.Length)).Text ?? t.Content)));
    }

    public bool Contains(int id) => byId.ContainsKey(id);

    /// <summary>Encodes one piece of normalized text between added tokens; <paramref name="first"/>: it starts the text.</summary>
    public delegate void PieceEncoder(NormalizedText piece, bool first, TokenSequence output, ref int wordId);

    /// <summary>Encodes <paramref name="text"/> into <paramref name="output"/>: added tokens as themselves (each its own
    /// word), every other non-empty piece normalized and handed to <paramref name="encodePiece"/>.</summary>
    public void Encode(string text, TextNormalizer? normalizer, TokenSequence output, PieceEncoder encodePiece)
    {
        output.Clear();
        int wordId = 0;
        foreach (var (start, end, id) in Find(text, raw))
        {
            if (id >= 0)
            {
                output.Add(id, start, end, wordId++);
                continue;
            }
            var piece = NormalizedText.Of(text, start, end);
            if (normalizer is not null)
                piece = normalizer.Normalize(piece);
            foreach (var (s, e, normalizedId) in Find(piece.Text, normalized))
            {
                var (originalStart, originalEnd) = piece.OriginalRange(s, e);
                if (normalizedId >= 0)
                    output.Add(normalizedId, originalStart, originalEnd, wordId++);
                else
                    encodePiece(s == 0 && e == piece.Length ? piece : piece.Slice(s, e), originalStart == 0, output, ref wordId);
            }
        }
    }

    /// <summary>The text cut into added tokens (their id) and the non-empty pieces between them (id -1).</summary>
    List<(int Start, int End, int Id)> Find(string text, SpecialTokenMatcher matcher)
    {
        var parts = new List<(int, int, int)>();
        int at = 0;
        while (at < text.Length)
        {
            int found = matcher.FindNext(text, at, out var match);
            if (found < 0)
                break;
            var token = byId[match!.Id];
            int start = found, end = found + match.Content.Length;
            while (token.LStrip && start > at && char.IsWhiteSpace(text[start - 1])) start--;
            while (token.RStrip && end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (at < start)
                parts.Add((at, start, -1));
            parts.Add((start, end, token.Id));
            at = end;
        }
        if (at < text.Length)
            parts.Add((at, text.Length, -1));
        return parts;
    }
}
