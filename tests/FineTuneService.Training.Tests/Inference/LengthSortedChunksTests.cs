using FineTuneService.Training.Inference;

namespace FineTuneService.Training.Tests.Inference;

public class LengthSortedChunksTests
{
    [Fact]
    public void Chunks_are_longest_first_within_the_token_budget_and_the_padding_tolerance()
    {
        int[] lengths = [5, 40, 12, 38, 6, 30, 39, 7];

        var chunks = LengthSortedChunks.Of(lengths, maxBatchTokens: 100, paddingTolerance: 10).ToArray();

        // 40, 39 fit (2 × 40 = 80); 38 would make 120 > 100. 38, 30 pad by 8; 12 would pad by 26.
        Assert.Equal([[1, 6], [3, 5], [2, 7, 4, 0]], chunks);
        Assert.Equal(Enumerable.Range(0, lengths.Length), chunks.SelectMany(c => c).Order());
    }
}
