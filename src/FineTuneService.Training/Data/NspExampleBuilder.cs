namespace FineTuneService.Training.Data;

/// <summary>Sentence-pair examples for masked LM + next-sentence prediction, after BERT's
/// <c>create_pretraining_data.py</c>: each document's sentences are gathered into chunks up to the document's target length
/// (the full <c>max_seq_length - 3</c>, or with <c>short_seq_prob</c> a random shorter one); a chunk splits at a
/// random sentence boundary into A and B; half the time B is replaced by a random span from another document and
/// the unused sentences go back to the document; the pair is truncated to fit, a random end at a time. As in BERT, a
/// one-sentence chunk always gets a random B, so documents with a short target lean the balance a little to random.
/// Streamed: documents are taken <c>documentsPerShard</c> at a time, random segments come from the same shard, and
/// a shard's examples are shuffled before they are yielded.</summary>
public sealed class NspExampleBuilder(int clsId, int sepId, int maxSeqLength, double shortSeqProb = 0.1, int documentsPerShard = 1000)
{
    public const int IsNext = 0;
    public const int IsRandom = 1;

    public IEnumerable<PretrainingExample> Build(IEnumerable<IReadOnlyList<TokenizedSentence>> documents, Random rng)
    {
        if (maxSeqLength < 5)
            throw new ArgumentOutOfRangeException(nameof(maxSeqLength), "A sentence pair needs max_seq_length of at least 5.");
        IReadOnlyList<TokenizedSentence>[] previous = [];
        foreach (var shard in documents.Where(d => d.Count > 0).Chunk(documentsPerShard))
        {
            // A lone document at the end of the corpus draws its random segments from the shard before it.
            var pool = shard.Length > 1 || previous.Length == 0 ? shard : previous;
            var examples = new List<PretrainingExample>();
            foreach (var document in shard)
                AddDocumentExamples(document, pool, rng, examples);
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(examples));
            foreach (var example in examples)
                yield return example;
            previous = shard;
        }
    }

    void AddDocumentExamples(IReadOnlyList<TokenizedSentence> document, IReadOnlyList<TokenizedSentence>[] pool,
        Random rng, List<PretrainingExample> examples)
    {
        var maxTokens = maxSeqLength - 3;
        var targetLength = rng.NextDouble() < shortSeqProb ? rng.Next(2, maxTokens + 1) : maxTokens;
        var chunk = new List<TokenizedSentence>();
        var chunkLength = 0;
        for (var i = 0; i < document.Count; i++)
        {
            chunk.Add(document[i]);
            chunkLength += document[i].Length;
            if (i < document.Count - 1 && chunkLength < targetLength)
                continue;
            var aEnd = chunk.Count >= 2 ? rng.Next(1, chunk.Count) : 1;
            var a = Concat(chunk.Take(aEnd));
            (List<int> Ids, List<bool> WordStarts) b;
            int label;
            if (chunk.Count == 1 || rng.NextDouble() < 0.5)
            {
                label = IsRandom;
                var other = RandomOtherDocument(document, pool, rng);
                var start = rng.Next(other.Count);
                b = Concat(TakeUntilLength(other.Skip(start), targetLength - a.Ids.Count));
                i -= chunk.Count - aEnd; // the sentences not used as A are not wasted
            }
            else
            {
                label = IsNext;
                b = Concat(chunk.Skip(aEnd));
            }
            TruncatePair(a, b, maxTokens, rng);
            examples.Add(PretrainingExample.FromSegments(clsId, sepId, [a, b], label));
            chunk.Clear();
            chunkLength = 0;
        }
    }

    static IReadOnlyList<TokenizedSentence> RandomOtherDocument(IReadOnlyList<TokenizedSentence> document,
        IReadOnlyList<TokenizedSentence>[] pool, Random rng)
    {
        var other = pool[rng.Next(pool.Length)];
        for (var tries = 1; tries < 10 && ReferenceEquals(other, document); tries++)
            other = pool[rng.Next(pool.Length)];
        return other;
    }

    static IEnumerable<TokenizedSentence> TakeUntilLength(IEnumerable<TokenizedSentence> sentences, int length)
    {
        var total = 0;
        foreach (var sentence in sentences)
        {
            yield return sentence;
            total += sentence.Length;
            if (total >= length)
                yield break;
        }
    }

    static (List<int> Ids, List<bool> WordStarts) Concat(IEnumerable<TokenizedSentence> sentences)
    {
        var ids = new List<int>();
        var starts = new List<bool>();
        foreach (var sentence in sentences)
        {
            ids.AddRange(sentence.Ids);
            starts.AddRange(sentence.WordStarts);
        }
        return (ids, starts);
    }

    // Shortens the longer segment one token at a time, from the front or the back at random, until the pair fits.
    static void TruncatePair((List<int> Ids, List<bool> WordStarts) a, (List<int> Ids, List<bool> WordStarts) b,
        int maxTokens, Random rng)
    {
        while (a.Ids.Count + b.Ids.Count > maxTokens)
        {
            var longer = a.Ids.Count > b.Ids.Count ? a : b;
            var at = rng.NextDouble() < 0.5 ? 0 : longer.Ids.Count - 1;
            longer.Ids.RemoveAt(at);
            longer.WordStarts.RemoveAt(at);
        }
    }
}
