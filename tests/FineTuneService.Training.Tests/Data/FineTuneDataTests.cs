using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tests.Trainer;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Data;

public class FineTuneDataTests
{
    [Fact]
    public void LengthGroupedBatchesCoverEveryExampleOnceAndPadToTheirLongest()
    {
        var data = TinyData.Separable(200, 3);
        var batches = data.TrainBatches(8, seed: 42, epoch: 0, groupByLength: true);
        Assert.Equal(Enumerable.Range(0, 200), batches.SelectMany(b => b).Order());
        Assert.Equal(batches, data.TrainBatches(8, seed: 42, epoch: 0, groupByLength: true));
        Assert.NotEqual(batches, data.TrainBatches(8, seed: 42, epoch: 1, groupByLength: true));
        int Length(int i) => data[i].InputIds.Length;
        Assert.Equal(data.Max(e => e.InputIds.Length), Length(batches[0][0]));
        // 200 / (8 * 4) = 6 batches per mega-batch, each sorted longest first (the first one swaps in the longest).
        foreach (var mega in batches.Chunk(6).Skip(1))
        {
            var lengths = mega.SelectMany(b => b).Select(Length).ToArray();
            Assert.Equal(lengths.OrderDescending(), lengths);
        }
        // grouping pads less than random batches do
        long Padded(int[][] bs) => bs.Sum(b => (long)b.Length * b.Max(Length));
        Assert.True(Padded(batches) < Padded(data.TrainBatches(8, 42, 0, groupByLength: false)));

        using var batch = data.Collate(batches[3]);
        var longest = batches[3].Max(Length);
        Assert.Equal([batches[3].Length, longest], batch.InputIds.shape);
        Assert.Equal(batches[3].Sum(Length), batch.AttentionMask.sum().item<long>());
    }

    [Fact]
    public void TokenTagsGoOnTheFirstSubToken()
    {
        var tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "new", "york", "##er", "is", "big"]);
        IReadOnlyDictionary<string, string>[] rows =
        [
            new Dictionary<string, string> { ["tokens"] = "[\"New\", \"Yorker\", \"is\", \"big\"]", ["tags"] = "B-LOC I-LOC O O" },
        ];
        var columns = new ColumnMap("tokens", null, "tags");
        var labels = FineTuneExamples.Labels(rows, columns, LabelKind.Token);
        Assert.Equal(["B-LOC", "I-LOC", "O"], labels);
        var example = FineTuneExamples.Build(rows, columns, LabelKind.Token, labels, tokenizer, 16).First();
        Assert.Equal([2, 5, 6, 7, 8, 9, 3], example.InputIds);
        Assert.Equal([-100, 0, 1, -100, 2, 2, -100], example.TokenLabels!);
        var all = FineTuneExamples.Build(rows, columns, LabelKind.Token, labels, tokenizer, 16, labelAllTokens: true).First();
        Assert.Equal([-100, 0, 1, 1, 2, 2, -100], all.TokenLabels!);
    }

    [Fact]
    public void LabelsSortNumericallyWhenTheyAreIntegers()
    {
        IReadOnlyDictionary<string, string>[] rows = [.. new[] { "10", "2", "1", "2" }.Select(l => new Dictionary<string, string> { ["label"] = l })];
        Assert.Equal(["1", "2", "10"], FineTuneExamples.Labels(rows, new ColumnMap(), LabelKind.SingleLabel));
    }
}
