using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

/// <summary>Expected values worked out by hand (and as scikit-learn / scipy / seqeval define them).</summary>
public class MetricsTests
{
    [Fact]
    public void Classification()
    {
        var m = Metrics.Classification([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2]);
        Assert.Equal(4.0 / 6, m["accuracy"], 12);
        Assert.Equal((0.5 + 2.0 / 3 + 1) / 3, m["precision"], 12);
        Assert.Equal((0.5 + 1 + 0.5) / 3, m["recall"], 12);
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, m["f1"], 12);
        Assert.Equal(12 / Math.Sqrt(22 * 24), m["mcc"], 12);
    }

    [Fact]
    public void MultiLabel()
    {
        var m = Metrics.MultiLabel([[true, false, false], [false, true, false]], [[true, false, true], [false, true, false]]);
        Assert.Equal(0.8, m["f1_micro"], 12);
        Assert.Equal(2.0 / 3, m["f1_macro"], 12);
        Assert.Equal(0.5, m["exact_match"], 12);
    }

    [Fact]
    public void Regression()
    {
        var m = Metrics.Regression([1, 2, 3, 4], [1, 3, 2, 5]);
        Assert.Equal(0.75, m["mse"], 12);
        Assert.Equal(0.75, m["mae"], 12);
        Assert.Equal(5.5 / Math.Sqrt(5 * 8.75), m["pearson"], 12);
        Assert.Equal(0.8, m["spearman"], 12);
        Assert.Equal(1 - 3 / 8.75, m["r2"], 12);
        Assert.Equal(1.0, Metrics.Regression([1, 1, 3], [2, 2, 7])["spearman"], 12); // ties take average ranks
    }

    [Fact]
    public void EntitiesAreCountedLikeSeqeval()
    {
        var m = Metrics.Entities(
            [["B-PER", "I-PER", "O", "B-ORG"], ["B-MISC", "O"]],
            [["B-PER", "I-PER", "O", "B-LOC"], ["I-MISC", "O"]]);
        Assert.Equal(2.0 / 3, m["precision"], 12);
        Assert.Equal(2.0 / 3, m["recall"], 12);
        Assert.Equal(2.0 / 3, m["f1"], 12);
        Assert.Equal(4.0 / 6, m["accuracy"], 12);
        Assert.Equal([("PER", 0, 0), ("LOC", 1, 2)], Metrics.Chunks(["B-PER", "I-LOC", "I-LOC", "O"]));
    }
}
