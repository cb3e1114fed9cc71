namespace FineTuneService.Training.Inference;

/// <summary>IOB2 entities from each word's first sub-token (the one labelled in training): B-X opens an entity,
/// I-X continues one of the same type (and opens one otherwise), anything else closes it. Spans are character
/// offsets into the first text, covering whole words; the score is the mean over the entity's words.</summary>
static class EntityGrouping
{
    public static IReadOnlyList<Prediction.Entity> Group(EncodedInput row, IReadOnlyList<string> tokenLabels, IReadOnlyList<float> tokenScores)
    {
        var e = row.Encoding;
        var entities = new List<Prediction.Entity>();
        OpenEntity? open = null;
        void Close()
        {
            if (open is not null)
            {
                entities.Add(new Prediction.Entity(open.Type, row.Input.Text[open.Start..open.End], open.Start, open.End, open.Scores.Average()));
                open = null;
            }
        }
        for (int t = 0; t < e.Length; t++)
        {
            if (e.WordIds[t] is not { } word || e.TypeIds[t] != 0)
            {
                continue;
            }
            if (t > 0 && e.WordIds[t - 1] == word && e.TypeIds[t - 1] == 0)
            {
                if (open?.LastWord == word)
                {
                    open.End = e.Offsets[t].End;
                }
                continue;
            }
            var label = tokenLabels[t];
            var (prefix, type) = label.Length > 2 && label[1] == '-' ? (label[0], label[2..]) : ('O', label);
            if (prefix == 'I' && open?.Type == type)
            {
                open.Scores.Add(tokenScores[t]);
                open.End = e.Offsets[t].End;
                open.LastWord = word;
                continue;
            }
            Close();
            if (prefix is 'B' or 'I')
            {
                open = new OpenEntity(type, e.Offsets[t].Start, e.Offsets[t].End, word, [tokenScores[t]]);
            }
        }
        Close();
        return entities;
    }

    sealed class OpenEntity(string type, int start, int end, int lastWord, List<float> scores)
    {
        public string Type { get; } = type;
        public int Start { get; } = start;
        public int End { get; set; } = end;
        public int LastWord { get; set; } = lastWord;
        public List<float> Scores { get; } = scores;
    }
}
