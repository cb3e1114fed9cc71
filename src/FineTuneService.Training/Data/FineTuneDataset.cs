using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Data;

/// <summary>What the labels of a fine-tune dataset are, and so how a batch carries them.</summary>
public enum LabelKind { SingleLabel, MultiLabel, Regression, Token }

/// <summary>One tokenized example. ClassId for single-label; Targets: multi-hot (multi-label) or [value] (regression);
/// TokenLabels: one class id per token, -100 where no label applies.</summary>
public sealed record FineTuneExample(int[] InputIds, int[] TokenTypeIds, long ClassId = 0, float[]? Targets = null, long[]? TokenLabels = null);

/// <summary>Tokenized fine-tune examples and their batching: a fixed order per (seed, epoch), length-grouped like
/// Hugging Face's LengthGroupedSampler, each batch padded only to its own longest example (dynamic padding).</summary>
public sealed class FineTuneDataset(IReadOnlyList<FineTuneExample> examples, LabelKind kind, int padId)
{
    public const long IgnoreIndex = -100;

    public IReadOnlyList<FineTuneExample> Examples => examples;
    public LabelKind Kind => kind;
    public int Count => examples.Count;

    /// <summary>The training batches of one epoch, as example indices. A pure function of (seed, epoch) so a resumed
    /// run replays the same order. Grouped: shuffle, cut into mega-batches of up to 50 batches, sort each by length
    /// (longest first), put the longest example in the first batch; then cut into batches.</summary>
    public int[][] TrainBatches(int batchSize, int seed, int epoch, bool groupByLength)
    {
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        var order = Enumerable.Range(0, Count).ToArray();
        random.Shuffle(order);
        if (groupByLength)
        {
            var megaBatch = Math.Clamp(Count / (batchSize * 4), 1, 50) * batchSize;
            var mega = order.Chunk(megaBatch)
                .Select(m => m.OrderByDescending(i => examples[i].InputIds.Length).ToArray()).ToArray();
            var longest = Enumerable.Range(0, mega.Length).MaxBy(m => examples[mega[m][0]].InputIds.Length);
            (mega[0][0], mega[longest][0]) = (mega[longest][0], mega[0][0]);
            order = mega.SelectMany(m => m).ToArray();
        }
        return order.Chunk(batchSize).ToArray();
    }

    /// <summary>Evaluation batches in dataset order.</summary>
    public int[][] EvalBatches(int batchSize) => Enumerable.Range(0, Count).Chunk(batchSize).ToArray();

    /// <summary>Pads the examples to the longest of them: (B, T) ids, mask, type ids and the labels of <see cref="Kind"/>.</summary>
    public Batch Collate(IReadOnlyList<int> indices)
    {
        var b = indices.Count;
        var t = indices.Max(i => examples[i].InputIds.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t];
        var tokenLabels = kind == LabelKind.Token ? new long[b * t] : null;
        Array.Fill(ids, padId);
        if (tokenLabels is not null) Array.Fill(tokenLabels, IgnoreIndex);
        for (var row = 0; row < b; row++)
        {
            var e = examples[indices[row]];
            for (var j = 0; j < e.InputIds.Length; j++)
            {
                ids[row * t + j] = e.InputIds[j];
                mask[row * t + j] = 1;
                types[row * t + j] = e.TokenTypeIds[j];
                if (tokenLabels is not null) tokenLabels[row * t + j] = e.TokenLabels![j];
            }
        }
        Tensor labels = kind switch
        {
            LabelKind.SingleLabel => tensor(indices.Select(i => examples[i].ClassId).ToArray()),
            LabelKind.MultiLabel => tensor(indices.SelectMany(i => examples[i].Targets!).ToArray(), [b, examples[indices[0]].Targets!.Length]),
            LabelKind.Regression => tensor(indices.Select(i => examples[i].Targets![0]).ToArray()),
            _ => tensor(tokenLabels!, [b, t]),
        };
        return new Batch(tensor(ids, [b, t]), tensor(mask, [b, t]), tensor(types, [b, t]), labels);
    }
}
