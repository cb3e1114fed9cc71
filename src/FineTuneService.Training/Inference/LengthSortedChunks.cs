namespace FineTuneService.Training.Inference;

/// <summary>How inputs are grouped into forwards: longest first, so each forward pads little.</summary>
static class LengthSortedChunks
{
    /// <summary>Indices grouped longest first into chunks whose padded size (rows × longest) stays within the budget
    /// and whose rows are at most <paramref name="paddingTolerance"/> tokens shorter than the chunk's longest.</summary>
    public static IEnumerable<int[]> Of(IReadOnlyList<int> lengths, int maxBatchTokens, int paddingTolerance)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToArray();
        var chunk = new List<int>();
        foreach (var i in order)
        {
            if (chunk.Count > 0)
            {
                int longest = lengths[chunk[0]];
                if ((chunk.Count + 1) * longest > maxBatchTokens || longest - lengths[i] > paddingTolerance)
                {
                    yield return chunk.ToArray();
                    chunk.Clear();
                }
            }
            chunk.Add(i);
        }
        if (chunk.Count > 0)
        {
            yield return chunk.ToArray();
        }
    }
}
