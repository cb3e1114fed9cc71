using System.IO.MemoryMappedFiles;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Data;

/// <summary>Pretraining examples stored in a file and read by index through a memory map, as nanoGPT reads its
/// token file: building streams the corpus through once, and training holds no example it is not batching, so
/// memory does not grow with the corpus. Masks are drawn when a batch is collated, seeded by the job's seed and the
/// batch's example indices: dynamic (each epoch batches differently), yet a resumed run redraws the same masks.
/// File layout per example: int32 length, int32 next-sentence label, length × int32 ids, length × byte type ids,
/// length × byte word starts; a sibling <c>.idx</c> file holds each example's int64 offset.</summary>
public sealed class PretrainingDataset : ITrainingData, IDisposable
{
    readonly MemoryMappedFile dataFile, indexFile;
    readonly MemoryMappedViewAccessor dataView, indexView;
    readonly MlmCollator? masking;
    readonly int seed;

    PretrainingDataset(string path, MlmCollator? masking, int seed)
    {
        dataFile = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        indexFile = MemoryMappedFile.CreateFromFile(path + ".idx", FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        dataView = dataFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        indexView = indexFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        Count = (int)(new FileInfo(path + ".idx").Length / sizeof(long));
        (this.masking, this.seed) = (masking, seed);
    }

    public int Count { get; }

    /// <summary>Opens the examples at <paramref name="path"/>, writing them first from <paramref name="examples"/> unless
    /// a complete file is already there (a resumed job reuses it). <paramref name="masking"/> null means causal-LM blocks;
    /// <paramref name="part"/> names the examples' side in errors ("training", "evaluation").</summary>
    public static PretrainingDataset OpenOrCreate(string path, Func<IEnumerable<PretrainingExample>> examples, MlmCollator? masking, int seed,
        string part = "training")
    {
        if (!File.Exists(path + ".idx"))
            Write(path, examples(), part);
        return new PretrainingDataset(path, masking, seed);
    }

    static void Write(string path, IEnumerable<PretrainingExample> examples, string part)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        long count = 0;
        using (var data = new BinaryWriter(File.Create(path)))
        using (var index = new BinaryWriter(File.Create(path + ".idx.tmp")))
        {
            foreach (var example in examples)
            {
                index.Write(data.BaseStream.Position);
                data.Write(example.Length);
                data.Write(example.NextSentenceLabel);
                foreach (var id in example.InputIds) data.Write(id);
                foreach (var type in example.TokenTypeIds) data.Write((byte)type);
                foreach (var start in example.WordStarts) data.Write(start);
                count++;
            }
        }
        if (count == 0)
            throw new InvalidDataException($"The corpus yields no {part} examples: its {part} documents have no text the tokenizer keeps.");
        File.Move(path + ".idx.tmp", path + ".idx"); // the index appears last, so its presence means a complete file
    }

    public int LengthOf(int index) => dataView.ReadInt32(indexView.ReadInt64(index * (long)sizeof(long)));

    public PretrainingExample this[int index]
    {
        get
        {
            var offset = indexView.ReadInt64(index * (long)sizeof(long));
            var length = dataView.ReadInt32(offset);
            var label = dataView.ReadInt32(offset + 4);
            var ids = new int[length];
            var bytes = new byte[2 * length];
            dataView.ReadArray(offset + 8, ids, 0, length);
            dataView.ReadArray(offset + 8 + 4L * length, bytes, 0, 2 * length);
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

    public void Dispose()
    {
        dataView.Dispose();
        indexView.Dispose();
        dataFile.Dispose();
        indexFile.Dispose();
    }
}
