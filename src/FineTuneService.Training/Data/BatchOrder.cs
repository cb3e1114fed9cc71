namespace FineTuneService.Training.Data;

/// <summary>The order in which an <see cref="ITrainingData"/> is batched.</summary>
public static class BatchOrder
{
    /// <summary>The training batches of one epoch, as example indices, a pure function of (seed, epoch). Grouped like
    /// Hugging Face's LengthGroupedSampler: shuffle, cut into mega-batches of up to 50 batches, sort each by length
    /// (longest first), put the longest example in the first batch; then cut into batches.</summary>
    public static int[][] Train(int count, Func<int, int> lengthOf, int batchSize, int seed, int epoch, bool groupByLength)
    {
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        if (groupByLength)
        {
            var megaBatch = Math.Clamp(count / (batchSize * 4), 1, 50) * batchSize;
            var mega = order.Chunk(megaBatch).Select(m => m.OrderByDescending(lengthOf).ToArray()).ToArray();
            var longest = Enumerable.Range(0, mega.Length).MaxBy(m => lengthOf(mega[m][0]));
            (mega[0][0], mega[longest][0]) = (mega[longest][0], mega[0][0]);
            order = mega.SelectMany(m => m).ToArray();
        }
        return order.Chunk(batchSize).ToArray();
    }

    /// <summary>Evaluation batches in dataset order.</summary>
    public static int[][] Eval(int count, int batchSize) => Enumerable.Range(0, count).Chunk(batchSize).ToArray();
}
