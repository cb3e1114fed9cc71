using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Data;

/// <summary>Tokenized fine-tune examples in an <see cref="ExampleFile"/> (as pretraining's are), read by index, and their
/// batching: a fixed order per (seed, epoch), length-grouped like Hugging Face's LengthGroupedSampler, each batch padded
/// only to its own longest example (dynamic padding). Record: int32 length, int64 class id, int32 targets (-1: none),
/// int32 token labels (0/1), the targets as float32, length × int32 ids, length × byte type ids, length × int32 token labels.</summary>
public sealed class FineTuneDataset : ITrainingData, IReadOnlyList<FineTuneExample>, IDisposable
{
    public const long IgnoreIndex = -100;
    const int Header = 4 + 8 + 4 + 4;

    readonly ExampleFile file;
    readonly int padId;

    FineTuneDataset(ExampleFile file, LabelKind kind, int padId) => (this.file, Kind, this.padId) = (file, kind, padId);

    /// <summary>Opens the examples at <paramref name="path"/>, writing them first from <paramref name="examples"/> unless
    /// a complete file is already there (a resumed job reuses it).</summary>
    public static FineTuneDataset OpenOrCreate(string path, Func<IEnumerable<FineTuneExample>> examples, LabelKind kind, int padId) =>
        new(ExampleFile.OpenOrCreate(path, examples, Write, "The dataset yields no examples."), kind, padId);

    static void Write(BinaryWriter data, FineTuneExample example)
    {
        data.Write(example.InputIds.Length);
        data.Write(example.ClassId);
        data.Write(example.Targets?.Length ?? -1);
        data.Write(example.TokenLabels is null ? 0 : 1);
        foreach (var target in example.Targets ?? []) data.Write(target);
        foreach (var id in example.InputIds) data.Write(id);
        foreach (var type in example.TokenTypeIds) data.Write(checked((byte)type));
        foreach (var label in example.TokenLabels ?? []) data.Write(checked((int)label));
    }

    public LabelKind Kind { get; }
    public int Count => file.Count;

    public int LengthOf(int index) => file.ReadInt32(file.Offset(index));

    public FineTuneExample this[int index]
    {
        get
        {
            var offset = file.Offset(index);
            var length = file.ReadInt32(offset);
            var classId = file.ReadInt64(offset + 4);
            var targets = file.ReadInt32(offset + 12);
            var hasTokenLabels = file.ReadInt32(offset + 16) != 0;
            var position = offset + Header;
            float[]? targetValues = targets < 0 ? null : file.ReadArray<float>(position, targets);
            position += 4L * Math.Max(targets, 0);
            var ids = file.ReadArray<int>(position, length);
            var types = file.ReadArray<byte>(position + 4L * length, length);
            var tokenLabels = hasTokenLabels ? Array.ConvertAll(file.ReadArray<int>(position + 5L * length, length), l => (long)l) : null;
            return new FineTuneExample(ids, Array.ConvertAll(types, t => (int)t), classId, targetValues, tokenLabels);
        }
    }

    public IEnumerator<FineTuneExample> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public int[][] TrainBatches(int batchSize, int seed, int epoch, bool groupByLength) =>
        BatchOrder.Train(Count, LengthOf, batchSize, seed, epoch, groupByLength);

    public int[][] EvalBatches(int batchSize) => BatchOrder.Eval(Count, batchSize);

    public IEvaluation StartEvaluation(IReadOnlyList<string> labelNames) => new FineTuneEvaluation(this, labelNames);

    /// <summary>Pads the examples to the longest of them: (B, T) ids, mask, type ids and the labels of <see cref="Kind"/>.</summary>
    public Batch Collate(IReadOnlyList<int> indices)
    {
        var examples = indices.Select(i => this[i]).ToArray();
        var b = examples.Length;
        var rows = PaddedRows.Pad(b, r => examples[r].InputIds, r => examples[r].TokenTypeIds, padId);
        var labels = Kind switch
        {
            LabelKind.SingleLabel => tensor(examples.Select(e => e.ClassId).ToArray()),
            LabelKind.MultiLabel => tensor(examples.SelectMany(e => e.Targets!).ToArray(), [b, examples[0].Targets!.Length]),
            LabelKind.Regression => tensor(examples.Select(e => e.Targets![0]).ToArray()),
            _ => rows.ToTensor(rows.Align(r => examples[r].TokenLabels!, IgnoreIndex)),
        };
        return rows.ToBatch(labels);
    }

    public void Dispose() => file.Dispose();
}
