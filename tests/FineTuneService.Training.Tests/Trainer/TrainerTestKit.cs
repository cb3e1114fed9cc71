using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Trainer;

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public class RunsAlone;

/// <summary>Tiny real BERT heads (hidden 32, 2 layers, vocab 64) so Trainer tests take milliseconds per step.</summary>
static class TinyBert
{
    public static BertConfig Config(int labels = 2, string? problemType = null) => new()
    {
        VocabSize = 64, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 64,
        Id2Label = Enumerable.Range(0, labels).ToDictionary(i => i, i => $"LABEL_{i}"),
        Label2Id = Enumerable.Range(0, labels).ToDictionary(i => $"LABEL_{i}", i => i),
        ProblemType = problemType,
    };

    public static BertForSequenceClassification Classifier(int seed = 42) => new(Config(), seed);
}

/// <summary>Records what the Trainer reports; optionally cancels at a given step.</summary>
sealed class RecordingObserver(CancellationTokenSource? cancel = null, int cancelAtStep = -1) : ITrainingObserver
{
    public readonly List<(int Step, string Split, IReadOnlyDictionary<string, double> Values)> Points = [];
    public readonly List<(int Step, string Path)> Checkpoints = [];
    public readonly List<string> Events = [];
    public Action<int>? OnStep;

    public IEnumerable<(int Step, double Loss)> Losses => Points.Where(p => p.Split == "train").Select(p => (p.Step, p.Values["loss"]));
    public IEnumerable<IReadOnlyDictionary<string, double>> Evals => Points.Where(p => p.Split == "eval").Select(p => p.Values);

    public void Progress(int step, int totalSteps, double epoch)
    {
        OnStep?.Invoke(step);
        if (step == cancelAtStep) cancel!.Cancel();
    }

    public void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values) => Points.Add((step, split, values));
    public void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics) => Checkpoints.Add((step, path));
    public void Event(string message) => Events.Add(message);
}

static class TinyData
{
    /// <summary>A separable task: label 1 when the sequence holds more tokens from the upper half of the vocabulary.
    /// Lengths vary (3..12) so batches pad dynamically.</summary>
    public static FineTuneDataset Separable(int count, int seed, int vocab = 64)
    {
        var random = new Random(seed);
        var examples = new List<FineTuneExample>();
        for (var i = 0; i < count; i++)
        {
            var label = i % 2;
            var length = random.Next(3, 13);
            var ids = Enumerable.Range(0, length).Select(_ => label == 1 ? random.Next(vocab / 2 + 2, vocab) : random.Next(2, vocab / 2)).ToArray();
            examples.Add(new FineTuneExample(ids, new int[length], ClassId: label));
        }
        return FineTuneDataset.OpenOrCreate(Path.Combine(TempDir(), "train.bin"), () => examples, LabelKind.SingleLabel, padId: 0);
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fts-trainer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
