using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

public sealed class PretrainingDatasetTests : IDisposable
{
    const int Pad = 0, Cls = 2, Sep = 3, MaskId = 4;
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("pretraining-data-");

    public void Dispose() => dir.Delete(recursive: true);

    static IEnumerable<PretrainingExample> Examples(int count) =>
        Enumerable.Range(0, count).Select(i => PretrainingExample.FromSegments(Cls, Sep,
            [([.. Enumerable.Range(10 + i, 3 + i % 5)], [.. Enumerable.Range(0, 3 + i % 5).Select(k => k % 2 == 0)]), ([7, 8], [true, false])], i % 2));

    [Fact]
    public void ExamplesRoundTripThroughTheFileAndTheFileIsReused()
    {
        var path = Path.Combine(dir.FullName, "train.bin");
        var collator = new MlmCollator(100, MaskId, Pad, new HashSet<int> { Pad, Cls, Sep, MaskId });
        var built = 0;
        IEnumerable<PretrainingExample> Counted() => Examples(50).Select(e => { built++; return e; });

        using (var dataset = PretrainingDataset.OpenOrCreate(path, Counted, collator, seed: 1))
        {
            Assert.Equal(50, dataset.Count);
            Assert.All(Examples(50).Select((e, i) => (e, i)), p =>
            {
                var read = dataset[p.i];
                Assert.Equal(p.e.InputIds, read.InputIds);
                Assert.Equal(p.e.TokenTypeIds, read.TokenTypeIds);
                Assert.Equal(p.e.WordStarts, read.WordStarts);
                Assert.Equal(p.e.NextSentenceLabel, read.NextSentenceLabel);
                Assert.Equal(p.e.Length, dataset.LengthOf(p.i));
            });
        }
        using var reopened = PretrainingDataset.OpenOrCreate(path, Counted, collator, seed: 1);

        Assert.Equal(50, built);
        Assert.Equal(50, reopened.Count);
    }

    [Fact]
    public void MasksFollowTheSeedAndTheBatch()
    {
        var collator = new MlmCollator(100, MaskId, Pad, new HashSet<int> { Pad, Cls, Sep, MaskId }, mlmProbability: 0.5);
        using var dataset = PretrainingDataset.OpenOrCreate(Path.Combine(dir.FullName, "a.bin"), () => Examples(40), collator, seed: 1);
        using var otherSeed = PretrainingDataset.OpenOrCreate(Path.Combine(dir.FullName, "b.bin"), () => Examples(40), collator, seed: 2);

        long[] Labels(PretrainingDataset data, int[] indices)
        {
            using var batch = data.Collate(indices);
            return batch.Labels!.data<long>().ToArray();
        }

        Assert.Equal(Labels(dataset, [3, 9, 27]), Labels(dataset, [3, 9, 27]));
        Assert.NotEqual(Labels(dataset, [3, 9, 27]), Labels(otherSeed, [3, 9, 27]));
        Assert.NotEqual(Labels(dataset, [3, 9, 27]).Take(12), Labels(dataset, [3, 27, 9]).Take(12));
    }

    [Fact]
    public void AnEmptyCorpusIsAnError()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            PretrainingDataset.OpenOrCreate(Path.Combine(dir.FullName, "empty.bin"), () => [], null, seed: 1));
        Assert.Contains("no training examples", error.Message);
    }
}
