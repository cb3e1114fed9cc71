namespace FineTuneService.Training.Data;

/// <summary>One document of a corpus: its non-blank lines (sentences or paragraphs), in order.</summary>
public sealed record CorpusDocument(IReadOnlyList<string> Lines)
{
    /// <summary>A hash of the text in [0, 1) (FNV-1a over the UTF-16 code units): what <see cref="CorpusSplit"/> decides
    /// by, so every pass, process and machine puts a document on the same side, and duplicates never straddle the split.</summary>
    public double UnitHash()
    {
        var hash = 14695981039346656037UL;
        foreach (var line in Lines)
        {
            foreach (var c in line)
            {
                hash = (hash ^ (byte)c) * 1099511628211UL;
                hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
            }
            hash = (hash ^ '\n') * 1099511628211UL;
        }
        return (hash >> 11) * (1.0 / (1UL << 53));
    }
}
