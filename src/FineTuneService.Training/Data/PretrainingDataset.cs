using FineTuneService.Training.Models;

namespace FineTuneService.Training.Data;

/// <summary>Pretraining examples in an <see cref="ExampleFile"/>: building streams the corpus through once, and
/// training holds no example it is not batching, so memory does not grow with the corpus. Masks are drawn when a batch
/// is collated, seeded by the job's seed and the batch's example indices: dynamic (each epoch batches differently), yet
/// a resumed run redraws the same masks. Record: int32 length, int32 next-sentence label, length × int32 ids,
/// length × byte type ids, length × byte word starts.</summary>
public sealed class PretrainingDataset : ITrainingData, IDisposable
{
    readonly ExampleFile file;
    readonly MlmCollator? masking;
    readonly int seed;

    PretrainingDataset(ExampleFile file, MlmCollator? masking, int seed) => (this.file, this.masking, this.seed) = (file, masking, seed);

    public int Count => file.Count;

    /// <summary>Opens the examples at <paramref name="path"/>, writing them first from <paramref name="examples"/> unless
    /// a complete file is already there (a resumed job reuses it). <paramref name="masking"/> null means causal-LM blocks;
    /// <paramref name="part"/> names the examples' side in errors ("training", "evaluation").</summary>
    public static PretrainingDataset OpenOrCreate(string path, Func<IEnumerable<PretrainingExample>> examples, MlmCollator? masking, int seed,
        string part = "training") =>
        new(ExampleFile.OpenOrCreate(path, examples, Write,
            $"The corpus yields no {part} examples: its {part} documents have no text the tokenizer keeps."), masking, seed);

    static void Write(BinaryWriter data, PretrainingExample example)
    {
        data.Write(example.Length);
        data.Write(example.NextSentenceLabel);
        foreach (var id in example.InputIds) data.Write(id);
        foreach (var type in example.TokenTypeIds) data.Write((byte)type);
        foreach (var start in example.WordStarts) data.Write(start);
    }

    public int LengthOf(int index) => file.ReadInt32(file.Offset(index));

    public PretrainingExample this[int index]
    {
        get
        {
            var offset = file.Offset(index);
            var length = file.ReadInt32(offset);
            var label = file.ReadInt32(offset + 4);
            var ids = file.ReadArray<int>(offset + 8, length);
            var bytes = file.ReadArray<byte>(offset + 8 + 4L * length, 2 * length);
            return new PretrainingExample(ids, bytes[..length].Select(b => (int)b).ToArray(), bytes[length..].Select(b => b != 0).ToArray(), label);
        }
    }

    public int[][] TrainBatches(int batchSize, int seed, int epoch, bool groupByLength) =>
        BatchOrder.Train(Count, LengthOf, batchSize, seed, epoch, groupByLength);

    public int[][] EvalBatches(int batchSize) => BatchOrder.Eval(Count, batchSize);

    public IEvaluation StartEvaluation(IReadOnlyList<string> labelNames) => new PretrainingEvaluation(causal: masking is null);

    /// <summary>The batch of the given examples: masked (MLM, NSP) or as causal-LM blocks.</summary>
    public Batch Collate(IReadOnlyList<int> indices)
    {
        var examples = indices.Select(i => this[i]).ToList();
        if (masking is null)
            return ClmBlocks.Collate(examples.Select(e => e.InputIds).ToList());
        return masking.Collate(examples, new Random(MaskSeed(indices)));
    }

    // FNV-1a over the job's seed and the batch's indices: the same on every run and machine.
    int MaskSeed(IReadOnlyList<int> indices)
    {
        var hash = 2166136261u;
        foreach (var value in indices.Prepend(seed))
            hash = (hash ^ (uint)value) * 16777619u;
        return (int)hash;
    }

    public void Dispose() => file.Dispose();
}
