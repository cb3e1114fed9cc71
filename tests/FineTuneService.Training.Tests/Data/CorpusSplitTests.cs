using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

/// <summary>A validation split of a corpus never leaves a side empty, whatever the fraction and document count.</summary>
public class CorpusSplitTests
{
    static List<CorpusDocument> Documents(int count) =>
        Enumerable.Range(0, count).Select(i => new CorpusDocument([$"document {i} first line", $"document {i} second line"])).ToList();

    [Theory]
    [InlineData(2, 0.02)]
    [InlineData(5, 0.001)]
    [InlineData(56, 0.02)]
    [InlineData(5, 0.999)]
    [InlineData(300, 0.1)]
    public void BothSidesGetDocumentsAndNoneIsLostOrDoubled(int count, double fraction)
    {
        var documents = Documents(count);
        var split = CorpusSplit.Of(documents, fraction);
        var train = split.Part(documents, heldOut: false).ToList();
        var heldOut = split.Part(documents, heldOut: true).ToList();
        Assert.NotEmpty(train);
        Assert.NotEmpty(heldOut);
        Assert.Equal(count, train.Count + heldOut.Count);
        Assert.Empty(train.Intersect(heldOut));
    }

    [Fact]
    public void AFractionThatSelectsDocumentsIsKeptAsItIs()
    {
        var documents = Documents(300);
        var heldOut = CorpusSplit.Of(documents, 0.1).Part(documents, heldOut: true).ToList();
        Assert.Equal(documents.Where(d => d.UnitHash() < 0.1), heldOut);
        Assert.InRange(heldOut.Count, 15, 45);
    }

    [Fact]
    public void OneDocumentCannotBeSplit()
    {
        var error = Assert.Throws<InvalidDataException>(() => CorpusSplit.Of(Documents(1), 0.5));
        Assert.Contains("validation_split", error.Message);
        Assert.Throws<InvalidDataException>(() => CorpusSplit.Of([.. Documents(1), .. Documents(1)], 0.5));
    }
}
