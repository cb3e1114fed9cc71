using System.IO.Compression;
using System.Text.Json.Nodes;
using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tests.Data;
using FineTuneService.Training.Tokenization;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Jobs;

/// <summary>A fine-tune job's data as the job opens it (<see cref="FineTuneJob.OpenData"/>): streamed from the dataset
/// into the work folder's example files and read back through the memory map, so the process's own memory (RssAnon:
/// heap and native allocations, not the file pages the map brings in) does not grow with the dataset.</summary>
[Collection(nameof(RssMeasured))]
public sealed class FineTuneStreamingTests : IDisposable
{
    static readonly string[] Words = [.. Enumerable.Range(0, 300).Select(i => new string((char)('a' + i % 26), 2 + i % 7) + (char)('a' + i / 26))];
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("finetune-rss-");

    public void Dispose() => dir.Delete(recursive: true);

    // A gzip csv of about `megabytes` MB: sentences of 20-40 words from a fixed pool, labelled by their first word.
    string Generate(string name, int megabytes)
    {
        var rng = new Random(5);
        var path = Path.Combine(dir.FullName, name);
        using var writer = new StreamWriter(new GZipStream(File.Create(path), CompressionLevel.Fastest), System.Text.Encoding.UTF8);
        writer.WriteLine("sentence,label");
        long written = 0;
        while (written < megabytes << 20)
        {
            var words = Enumerable.Range(0, rng.Next(20, 41)).Select(_ => Words[rng.Next(Words.Length)]).ToArray();
            var line = $"{string.Join(' ', words)},{(words[0][0] < 'n' ? "low" : "high")}";
            writer.WriteLine(line);
            written += line.Length + 1;
        }
        return path;
    }

    static TrainingJobRequest Request(string train, string workDir) =>
        new(JobId: "job", Type: "finetune", Task: "sequence_classification", Train: new DataFile(train, "csv"), Validation: null,
            ValidationSplit: 0.1, Columns: new ColumnMap("sentence", null, "label"), Hyperparameters: new JsonObject(), BaseModelDir: null, ModelShape: null,
            TokenizerSpec: null, WorkDir: workDir, OutputModelDir: Path.Combine(workDir, "model"), Device: "cpu");

    static long RssAnon()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) << 10;
    }

    // Opens the job's data and reads every example back, batch by batch as the Trainer does, while a thread samples
    // the process's anonymous memory; returns its peak above the start and the examples' count.
    static (long Growth, int Examples) OpenAndReadThrough(string csv, string workDir)
    {
        var tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Words]);
        GC.Collect();
        var start = RssAnon();
        var peak = start;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, RssAnon());
                await Task.Delay(20);
            }
        });
        int examples;
        using (var data = FineTuneJob.OpenData(Request(csv, workDir), new TrainingArguments(), tokenizer, maxLength: 64))
        {
            Assert.Equal(["high", "low"], data.Labels);
            examples = data.Train.Count + data.Eval!.Count;
            foreach (var batch in data.Train.TrainBatches(64, seed: 1, epoch: 0, groupByLength: true))
            {
                using var collated = data.Train.Collate(batch);
                Assert.Equal(batch.Length, collated.InputIds.shape[0]);
            }
        }
        sampling.Cancel();
        sampler.Wait();
        return (Math.Max(peak, RssAnon()) - start, examples);
    }

    [Fact]
    public void MemoryDoesNotGrowWithTheDatasetAndTheExamplesAreReadFromTheWorkFolder()
    {
        var small = Generate("small.csv.gz", 2);
        var large = Generate("large.csv.gz", 40);
        var smallWork = Path.Combine(dir.FullName, "small-job");
        var largeWork = Path.Combine(dir.FullName, "large-job");

        OpenAndReadThrough(small, Path.Combine(dir.FullName, "warm-up")); // JIT, tokenizer and libtorch first use
        var (smallGrowth, _) = OpenAndReadThrough(small, smallWork);
        var (largeGrowth, largeExamples) = OpenAndReadThrough(large, largeWork);

        var rows = TabularData.Inspect(large, "csv").NumRows;
        Assert.Equal(rows, largeExamples);
        Assert.True(largeGrowth - smallGrowth < 32L << 20,
            $"Fine-tune data of 40 MB of text raised the peak anonymous memory by {(largeGrowth - smallGrowth) >> 20} MB over 2 MB of text.");

        // The examples live in the work folder (training and held-out files); a resumed job reopens them as they are
        // (the factory that would write them again throws).
        var trainFile = new FileInfo(Path.Combine(largeWork, "data", "train.bin"));
        var written = trainFile.LastWriteTimeUtc;
        Assert.True(trainFile.Length > 0);
        Assert.True(File.Exists(Path.Combine(largeWork, "data", "eval.bin.idx")));
        var tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Words]);
        using var reopened = FineTuneDataset.OpenOrCreate(trainFile.FullName, () => throw new InvalidOperationException("rewritten"),
            LabelKind.SingleLabel, tokenizer.PadId);
        Assert.Equal(written, new FileInfo(trainFile.FullName).LastWriteTimeUtc);
        Assert.Equal(rows - (long)Math.Round(rows * 0.1), reopened.Count);
    }

    [Fact]
    public void EveryKindOfExampleRoundTripsThroughTheFile()
    {
        FineTuneExample[] examples =
        [
            new([2, 7, 9, 3], [0, 0, 1, 1], ClassId: 5),
            new([2, 3], [0, 0], Targets: [0f, 1f, 1f]),
            new([2, 11, 3], [0, 0, 0], Targets: [-2.5f]),
            new([2, 4, 5, 6, 3], [0, 0, 0, 0, 0], TokenLabels: [-100, 1, 0, 2, -100]),
        ];
        using var data = FineTuneDataset.OpenOrCreate(Path.Combine(dir.FullName, "kinds.bin"), () => examples, LabelKind.Token, padId: 0);

        Assert.Equal(examples.Length, data.Count);
        Assert.All(examples.Select((e, i) => (e, i)), p =>
        {
            var read = data[p.i];
            Assert.Equal(p.e.InputIds, read.InputIds);
            Assert.Equal(p.e.TokenTypeIds, read.TokenTypeIds);
            Assert.Equal(p.e.ClassId, read.ClassId);
            Assert.Equal(p.e.Targets, read.Targets);
            Assert.Equal(p.e.TokenLabels, read.TokenLabels);
            Assert.Equal(p.e.InputIds.Length, data.LengthOf(p.i));
        });
    }
}
