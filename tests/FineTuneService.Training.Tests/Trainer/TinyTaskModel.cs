using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Trainer;

/// <summary>A small encoder-shaped classifier (HF-like parameter names, LayerNorm, dropout) so the Trainer's tests
/// run in milliseconds per step: embeddings → one "encoder layer" → masked mean pool → classifier.</summary>
sealed class TinyTaskModel : nn.Module, ITaskModel
{
    sealed class Embeddings : nn.Module
    {
        public readonly Embedding word_embeddings;
        public readonly LayerNorm LayerNorm;
        public Embeddings(int vocab, int hidden) : base("embeddings")
        {
            word_embeddings = nn.Embedding(vocab, hidden);
            LayerNorm = nn.LayerNorm(hidden);
            RegisterComponents();
        }
    }

    readonly Embeddings embeddings;
    readonly ModuleList<Linear> layer;
    readonly Dropout dropout;
    readonly Linear classifier;
    readonly bool tokens;

    public TinyTaskModel(int vocab = 64, int hidden = 16, int labels = 2, bool tokenLevel = false) : base("tiny")
    {
        embeddings = new Embeddings(vocab, hidden);
        layer = nn.ModuleList(nn.Linear(hidden, hidden), nn.Linear(hidden, hidden));
        dropout = nn.Dropout(0.1);
        classifier = nn.Linear(hidden, labels);
        tokens = tokenLevel;
        RegisterComponents();
    }

    public nn.Module Module => this;

    public ModelOutput Forward(Batch batch)
    {
        var h = embeddings.LayerNorm.forward(embeddings.word_embeddings.forward(batch.InputIds)); // (B, T, H)
        foreach (var l in layer) h = dropout.forward(nn.functional.gelu(l.forward(h)));
        if (tokens)
        {
            var tokenLogits = classifier.forward(h); // (B, T, C)
            var tokenLoss = batch.Labels is null ? null
                : nn.functional.cross_entropy(tokenLogits.flatten(0, 1), batch.Labels.flatten(), ignore_index: FineTuneDataset.IgnoreIndex);
            return new ModelOutput(tokenLoss, tokenLogits);
        }
        var mask = batch.AttentionMask.unsqueeze(-1).to(h.dtype);
        var pooled = (h * mask).sum(1) / mask.sum(1); // (B, H)
        var logits = classifier.forward(pooled);
        return new ModelOutput(batch.Labels is null ? null : nn.functional.cross_entropy(logits, batch.Labels), logits);
    }
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
        return new FineTuneDataset(examples, LabelKind.SingleLabel, padId: 0);
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fts-trainer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
