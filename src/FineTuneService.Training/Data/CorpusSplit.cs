namespace FineTuneService.Training.Data;

/// <summary>Which documents of a corpus are held out for a validation fraction: those whose <see cref="CorpusDocument.UnitHash"/>
/// falls below a threshold, normally the fraction itself. One pass over the corpus makes sure neither side is empty:
/// when no document falls below the fraction (few documents, a small fraction) the one with the lowest hash is held
/// out; when all do, the one with the highest stays in training.</summary>
public sealed class CorpusSplit
{
    readonly double threshold;

    CorpusSplit(double threshold) => this.threshold = threshold;

    /// <summary>Plans the split of <paramref name="documents"/>; fails when the corpus cannot give both sides a document.</summary>
    public static CorpusSplit Of(IEnumerable<CorpusDocument> documents, double fraction)
    {
        long total = 0, below = 0;
        double lowest = 1, highest = 0;
        foreach (var document in documents)
        {
            var hash = document.UnitHash();
            total++;
            if (hash < fraction) below++;
            lowest = Math.Min(lowest, hash);
            highest = Math.Max(highest, hash);
        }
        if (total < 2 || lowest == highest)
            throw new InvalidDataException($"validation_split needs at least two different documents in the corpus; it has {(total < 2 ? total.ToString() : "only copies of one")}.");
        return new CorpusSplit(below == 0 ? Math.BitIncrement(lowest) : below == total ? highest : fraction);
    }

    /// <summary>The training part (<paramref name="heldOut"/> false) or the held-out part.</summary>
    public IEnumerable<CorpusDocument> Part(IEnumerable<CorpusDocument> documents, bool heldOut) =>
        documents.Where(d => (d.UnitHash() < threshold) == heldOut);
}
