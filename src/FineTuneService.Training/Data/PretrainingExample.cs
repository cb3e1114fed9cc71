namespace FineTuneService.Training.Data;

/// <summary>A masked-LM example before masking: <c>[CLS] A [SEP]</c> or <c>[CLS] A [SEP] B [SEP]</c>, with segment ids,
/// word starts for whole-word masking, and the next-sentence label (0 = B follows A, 1 = B is random, -1 = no pair).</summary>
public sealed record PretrainingExample(int[] InputIds, int[] TokenTypeIds, bool[] WordStarts, int NextSentenceLabel = -1)
{
    public int Length => InputIds.Length;

    /// <summary>A causal-LM block: one segment, no word structure.</summary>
    public static PretrainingExample FromBlock(int[] ids) => new(ids, new int[ids.Length], new bool[ids.Length]);

    /// <summary>Joins segments into one sequence: <c>[CLS] s0 [SEP] s1 [SEP] …</c>, segment i getting type id i.</summary>
    public static PretrainingExample FromSegments(int clsId, int sepId, IReadOnlyList<(List<int> Ids, List<bool> WordStarts)> segments,
        int nextSentenceLabel = -1)
    {
        var length = 1 + segments.Sum(s => s.Ids.Count + 1);
        var ids = new int[length];
        var types = new int[length];
        var starts = new bool[length];
        ids[0] = clsId;
        starts[0] = true;
        var at = 1;
        for (var s = 0; s < segments.Count; s++)
        {
            var (segmentIds, segmentStarts) = segments[s];
            segmentIds.CopyTo(ids, at);
            segmentStarts.CopyTo(starts, at);
            at += segmentIds.Count;
            ids[at] = sepId;
            starts[at] = true;
            types.AsSpan(at - segmentIds.Count, segmentIds.Count + 1).Fill(s);
            at++;
        }
        return new PretrainingExample(ids, types, starts, nextSentenceLabel);
    }
}
