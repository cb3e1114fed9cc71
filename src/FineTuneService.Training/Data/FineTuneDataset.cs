using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Data;

/// <summary>Tokenized fine-tune examples and their batching: a fixed order per (seed, epoch), length-grouped like
/// Hugging Face's LengthGroupedSampler, each batch padded only to its own longest example (dynamic padding).</summary>
public sealed class FineTuneDataset(IReadOnlyList<FineTuneExample> examples, LabelKind kind, int padId) : ITrainingData
{
    public const long IgnoreIndex = -100;

    public IReadOnlyList<FineTuneExample> Examples => examples;
    public LabelKind Kind => kind;
    public int Count => examples.Count;

    public int[][] TrainBatches(int batchSize, int seed, int epoch, bool groupByLength) =>
        BatchOrder.Train(Count, i => examples[i].InputIds.Length, batchSize, seed, epoch, groupByLength);

    public int[][] EvalBatches(int batchSize) => BatchOrder.Eval(Count, batchSize);

    public IEvaluation StartEvaluation(IReadOnlyList<string> labelNames) => new FineTuneEvaluation(this, labelNames);

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
        return new Batch(tensor(ids, [b, t]), tensor(mask, [b, t]), tensor(types, [b, t]), labels)
        {
            Tokens = indices.Sum(i => (long)examples[i].InputIds.Length),
        };
    }
}
