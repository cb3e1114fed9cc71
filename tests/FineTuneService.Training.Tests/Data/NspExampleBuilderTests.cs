using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

public sealed class NspExampleBuilderTests
{
    const int Cls = 2, Sep = 3, MaxSeqLength = 64;

    // Every token id is unique and ids run consecutively through each document, so an id tells its document and place.
    static (List<IReadOnlyList<TokenizedSentence>> Documents, Dictionary<int, int> DocumentOf) Corpus(int documents, int seed)
    {
        var rng = new Random(seed);
        var next = 10;
        var documentOf = new Dictionary<int, int>();
        var corpus = new List<IReadOnlyList<TokenizedSentence>>();
        for (var d = 0; d < documents; d++)
        {
            var sentences = new List<TokenizedSentence>();
            for (var s = rng.Next(20, 60); s > 0; s--)
            {
                var ids = Enumerable.Range(next, rng.Next(3, 20)).ToArray();
                next += ids.Length;
                foreach (var id in ids)
                    documentOf[id] = d;
                sentences.Add(new TokenizedSentence(ids, ids.Select(_ => true).ToArray()));
            }
            corpus.Add(sentences);
        }
        return (corpus, documentOf);
    }

    static (int[] A, int[] B) Split(PretrainingExample example)
    {
        Assert.Equal(Cls, example.InputIds[0]);
        Assert.Equal(Sep, example.InputIds[^1]);
        var firstSep = Array.IndexOf(example.InputIds, Sep);
        Assert.Equal(example.Length - 1, Array.IndexOf(example.InputIds, Sep, firstSep + 1));
        Assert.Equal(Enumerable.Repeat(0, firstSep + 1).Concat(Enumerable.Repeat(1, example.Length - firstSep - 1)), example.TokenTypeIds);
        return (example.InputIds[1..firstSep], example.InputIds[(firstSep + 1)..^1]);
    }

    static void AssertContiguous(int[] ids) => Assert.All(ids.Skip(1).Zip(ids), p => Assert.Equal(p.Second + 1, p.First));

    [Fact]
    public void PairsAreHalfTrueNextHalfRandomAndRespectDocuments()
    {
        var (documents, documentOf) = Corpus(100, 1);

        // Full-length targets: a short target makes one-sentence chunks, which BERT always pairs with a random B.
        var examples = new NspExampleBuilder(Cls, Sep, MaxSeqLength, shortSeqProb: 0, documentsPerShard: 25).Build(documents, new Random(3)).ToList();

        Assert.True(examples.Count > 500);
        Assert.All(examples, e => Assert.InRange(e.Length, 5, MaxSeqLength));
        var trueNext = examples.Count(e => e.NextSentenceLabel == NspExampleBuilder.IsNext) / (double)examples.Count;
        Assert.True(trueNext is > 0.45 and < 0.55, $"{trueNext:P1} true next");
        foreach (var example in examples)
        {
            var (a, b) = Split(example);
            Assert.NotEmpty(a);
            Assert.NotEmpty(b);
            AssertContiguous(a);
            Assert.Single(a.Select(id => documentOf[id]).Distinct());
            Assert.Single(b.Select(id => documentOf[id]).Distinct());
            if (example.NextSentenceLabel == NspExampleBuilder.IsNext)
            {
                AssertContiguous(b);
                Assert.Equal(documentOf[a[0]], documentOf[b[0]]);
                Assert.True(b[0] > a[^1]);
            }
            else
            {
                Assert.Equal(NspExampleBuilder.IsRandom, example.NextSentenceLabel);
                Assert.NotEqual(documentOf[a[0]], documentOf[b[0]]);
            }
        }
    }

    [Fact]
    public void ShortSequenceProbabilityMakesSomePairsShorter()
    {
        var (documents, _) = Corpus(200, 2);

        double MeanLength(double shortSeqProb) =>
            new NspExampleBuilder(Cls, Sep, MaxSeqLength, shortSeqProb).Build(documents, new Random(5)).Average(e => e.Length);

        Assert.True(MeanLength(1.0) < MeanLength(0.0) - 10);
    }

    [Fact]
    public void SameSeedSameExamples()
    {
        var (documents, _) = Corpus(150, 3);
        var builder = new NspExampleBuilder(Cls, Sep, MaxSeqLength, documentsPerShard: 40);

        var first = builder.Build(documents, new Random(11)).Select(e => string.Join(',', e.InputIds)).ToList();
        var again = builder.Build(documents, new Random(11)).Select(e => string.Join(',', e.InputIds)).ToList();
        var other = builder.Build(documents, new Random(12)).Select(e => string.Join(',', e.InputIds)).ToList();

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }
}
