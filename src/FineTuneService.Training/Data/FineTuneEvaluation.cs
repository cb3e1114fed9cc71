using FineTuneService.Training.Models;
using static TorchSharp.torch;
using Scores = FineTuneService.Training.Data.Metrics;

namespace FineTuneService.Training.Data;

/// <summary>Fine-tune metrics over an evaluation pass: the logits of every example are kept, then scored by the
/// dataset's label kind (classification, multi-label, regression, token-level entities).</summary>
public sealed class FineTuneEvaluation(FineTuneDataset data, IReadOnlyList<string> labelNames) : IEvaluation
{
    readonly List<float[]> logits = [];
    int classes = 1;

    public void Add(IReadOnlyList<int> indices, Batch batch, ModelOutput output)
    {
        var l = output.Logits.detach().cpu().to(float32).contiguous();
        classes = data.Kind == LabelKind.Regression ? 1 : (int)l.shape[^1];
        var flat = l.data<float>().ToArray();
        var perExample = flat.Length / indices.Count;
        for (var i = 0; i < indices.Count; i++) logits.Add(flat[(i * perExample)..((i + 1) * perExample)]);
    }

    public IReadOnlyDictionary<string, double> Metrics()
    {
        var examples = data.Examples;
        return data.Kind switch
        {
            LabelKind.SingleLabel => Scores.Classification(logits.Select(ArgMax).ToArray(), examples.Select(e => (int)e.ClassId).ToArray()),
            LabelKind.MultiLabel => Scores.MultiLabel(logits.Select(l => l.Select(x => x > 0).ToArray()).ToArray(),
                examples.Select(e => e.Targets!.Select(x => x > 0.5f).ToArray()).ToArray()),
            LabelKind.Regression => Scores.Regression(logits.Select(l => (double)l[0]).ToArray(), examples.Select(e => (double)e.Targets![0]).ToArray()),
            _ => TokenMetrics(examples),
        };
    }

    Dictionary<string, double> TokenMetrics(IReadOnlyList<FineTuneExample> examples)
    {
        var predicted = new List<string[]>();
        var truth = new List<string[]>();
        for (var i = 0; i < examples.Count; i++)
        {
            var labels = examples[i].TokenLabels!;
            var positions = Enumerable.Range(0, labels.Length).Where(t => labels[t] != FineTuneDataset.IgnoreIndex).ToArray();
            truth.Add(positions.Select(t => labelNames[(int)labels[t]]).ToArray());
            predicted.Add(positions.Select(t => labelNames[ArgMax(logits[i][(t * classes)..((t + 1) * classes)])]).ToArray());
        }
        return Scores.Entities(predicted, truth);
    }

    static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
