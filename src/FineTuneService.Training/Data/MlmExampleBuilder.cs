namespace FineTuneService.Training.Data;

/// <summary>Single-segment examples for masked LM without next-sentence prediction: a document's consecutive sentences
/// are packed into <c>[CLS] … [SEP]</c> sequences of at most <c>max_seq_length</c> tokens, never across documents; a
/// sentence longer than that is cut into pieces. Streamed; examples are shuffled within buffers of <c>shuffleBuffer</c>.</summary>
public sealed class MlmExampleBuilder(int clsId, int sepId, int maxSeqLength, int shuffleBuffer = 10_000)
{
    public IEnumerable<PretrainingExample> Build(IEnumerable<IReadOnlyList<TokenizedSentence>> documents, Random rng)
    {
        if (maxSeqLength < 3)
            throw new ArgumentOutOfRangeException(nameof(maxSeqLength), "max_seq_length must be at least 3.");
        return documents.SelectMany(Pack).ShuffleInBuffers(shuffleBuffer, rng);
    }

    IEnumerable<PretrainingExample> Pack(IReadOnlyList<TokenizedSentence> document)
    {
        var maxTokens = maxSeqLength - 2;
        var ids = new List<int>(maxTokens);
        var starts = new List<bool>(maxTokens);
        foreach (var sentence in document)
        {
            if (ids.Count > 0 && ids.Count + sentence.Length > maxTokens)
            {
                yield return PretrainingExample.FromSegments(clsId, sepId, [(ids, starts)]);
                ids = new List<int>(maxTokens);
                starts = new List<bool>(maxTokens);
            }
            for (int at = 0, take; at < sentence.Length; at += take)
            {
                take = Math.Min(maxTokens - ids.Count, sentence.Length - at);
                ids.AddRange(sentence.Ids.AsSpan(at, take));
                starts.AddRange(sentence.WordStarts.AsSpan(at, take));
                if (ids.Count == maxTokens)
                {
                    yield return PretrainingExample.FromSegments(clsId, sepId, [(ids, starts)]);
                    ids = new List<int>(maxTokens);
                    starts = new List<bool>(maxTokens);
                }
            }
        }
        if (ids.Count > 0)
            yield return PretrainingExample.FromSegments(clsId, sepId, [(ids, starts)]);
    }
}
