using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

public sealed class MlmCollatorTests
{
    const int Pad = 0, Unk = 1, Cls = 2, Sep = 3, MaskId = 4, VocabSize = 1000;
    static readonly HashSet<int> Specials = [Pad, Unk, Cls, Sep, MaskId];

    // Sentence pairs of varying length (so batches pad), words of 1-4 tokens, an [UNK] now and then.
    static List<PretrainingExample> Examples(int count, int seed)
    {
        var rng = new Random(seed);
        (List<int>, List<bool>) Segment()
        {
            var ids = new List<int>();
            var starts = new List<bool>();
            for (var words = rng.Next(10, 30); words > 0; words--)
            {
                for (int piece = 0, pieces = rng.Next(1, 5); piece < pieces; piece++)
                {
                    starts.Add(piece == 0);
                    ids.Add(rng.Next(50) == 0 ? Unk : rng.Next(5, VocabSize));
                }
            }

            return (ids, starts);
        }
        return Enumerable.Range(0, count).Select(_ => PretrainingExample.FromSegments(Cls, Sep, [Segment(), Segment()], rng.Next(2))).ToList();
    }

    sealed record Collated(List<PretrainingExample> Examples, long[] Ids, long[] Labels, long[] Attention, long[] NextSentence, int Length)
    {
        public IEnumerable<(int Original, long Id, long Label, bool Padding)> Positions() =>
            Enumerable.Range(0, Examples.Count).SelectMany(b => Enumerable.Range(0, Length).Select(t =>
                (t < Examples[b].Length ? Examples[b].InputIds[t] : Pad, Ids[b * Length + t], Labels[b * Length + t], Attention[b * Length + t] == 0)));
    }

    static Collated Collate(MlmCollator collator, List<PretrainingExample> examples, Random rng)
    {
        using var batch = collator.Collate(examples, rng);
        return new Collated(examples, batch.InputIds.data<long>().ToArray(), batch.Labels!.data<long>().ToArray(),
            batch.AttentionMask.data<long>().ToArray(), batch.NextSentenceLabels!.data<long>().ToArray(), (int)batch.InputIds.shape[1]);
    }

    [Fact]
    public void SelectsFifteenPercentAndSplitsThemEightyTenTen()
    {
        var collator = new MlmCollator(VocabSize, MaskId, Pad, Specials);
        var rng = new Random(1);
        var positions = Enumerable.Range(0, 8).SelectMany(i => Collate(collator, Examples(64, i), rng).Positions()).ToList();

        var maskable = positions.Where(p => !Specials.Contains(p.Original)).ToList();
        var selected = maskable.Where(p => p.Label != MlmCollator.IgnoreIndex).ToList();
        Assert.All(selected, p => Assert.Equal(p.Original, p.Label));
        Assert.InRange(selected.Count / (double)maskable.Count, 0.14, 0.16);
        Assert.InRange(selected.Count(p => p.Id == MaskId) / (double)selected.Count, 0.77, 0.83);
        Assert.InRange(selected.Count(p => p.Id != MaskId && p.Id != p.Original) / (double)selected.Count, 0.08, 0.12);
        Assert.InRange(selected.Count(p => p.Id == p.Original) / (double)selected.Count, 0.08, 0.12);
        Assert.All(maskable.Where(p => p.Label == MlmCollator.IgnoreIndex), p => Assert.Equal(p.Original, p.Id));
    }

    [Fact]
    public void SpecialTokensAndPaddingAreNeverMasked()
    {
        var collated = Collate(new MlmCollator(VocabSize, MaskId, Pad, Specials, mlmProbability: 0.9), Examples(64, 3), new Random(2));

        var positions = collated.Positions().ToList();
        Assert.Contains(positions, p => p.Padding);
        Assert.Contains(positions, p => p.Original == Unk);
        Assert.All(positions.Where(p => Specials.Contains(p.Original) || p.Padding), p =>
        {
            Assert.Equal(MlmCollator.IgnoreIndex, p.Label);
            Assert.Equal(p.Original, p.Id);
        });
        Assert.Equal(collated.Examples.Select(e => (long)e.NextSentenceLabel), collated.NextSentence);
    }

    [Fact]
    public void WholeWordMaskingSelectsWordsTogether()
    {
        var collator = new MlmCollator(VocabSize, MaskId, Pad, Specials, wholeWordMask: true);
        var rng = new Random(4);
        var selectedTokens = 0;
        var maskableTokens = 0;
        foreach (var seed in Enumerable.Range(0, 8))
        {
            var collated = Collate(collator, Examples(64, seed), rng);
            for (var b = 0; b < collated.Examples.Count; b++)
            {
                var example = collated.Examples[b];
                var selected = Enumerable.Range(0, example.Length).Select(t => collated.Labels[b * collated.Length + t] != MlmCollator.IgnoreIndex).ToArray();
                for (var t = 1; t < example.Length; t++)
                {
                    if (!example.WordStarts[t] && !Specials.Contains(example.InputIds[t]) && !Specials.Contains(example.InputIds[t - 1]))
                        Assert.Equal(selected[t - 1], selected[t]);
                }

                selectedTokens += selected.Count(s => s);
                maskableTokens += example.InputIds.Count(id => !Specials.Contains(id));
            }
        }
        Assert.InRange(selectedTokens / (double)maskableTokens, 0.13, 0.17);
    }

    [Fact]
    public void MaskingIsSeededAndFreshForEachBatch()
    {
        var collator = new MlmCollator(VocabSize, MaskId, Pad, Specials);
        var examples = Examples(16, 5);

        var first = Collate(collator, examples, new Random(9));
        var same = Collate(collator, examples, new Random(9));
        var rng = new Random(9);
        Collate(collator, examples, rng);
        var next = Collate(collator, examples, rng);

        Assert.Equal(first.Ids, same.Ids);
        Assert.Equal(first.Labels, same.Labels);
        Assert.NotEqual(first.Labels, next.Labels);
    }
}
