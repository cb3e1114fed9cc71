using FineTuneService.Training.Models;
using static TorchSharp.torch;
using Scores = FineTuneService.Training.Data.Metrics;

namespace FineTuneService.Training.Data;

/// <summary>Fine-tune metrics over an evaluation pass, scored by the dataset's label kind (classification, multi-label,
/// regression, token-level entities). Each batch's logits are reduced to predictions as it comes, beside the labels
/// read from the dataset: the pass keeps no logits and no examples.</summary>
public sealed class FineTuneEvaluation(FineTuneDataset data, IReadOnlyList<string> labelNames) : IEvaluation
{
    readonly List<int> classes = [], trueClasses = [];
    readonly List<bool[]> labelSets = [], trueLabelSets = [];
    readonly List<double> values = [], trueValues = [];
    readonly List<string[]> tags = [], trueTags = [];

    public void Add(IReadOnlyList<int> indices, Batch batch, ModelOutput output)
    {
        var l = output.Logits.detach().cpu().to(float32).contiguous();
        var width = data.Kind == LabelKind.Regression ? 1 : (int)l.shape[^1];
        var flat = l.data<float>().ToArray();
        var perExample = flat.Length / indices.Count;
        for (var i = 0; i < indices.Count; i++)
        {
            var logits = flat[(i * perExample)..((i + 1) * perExample)];
            var example = data[indices[i]];
            switch (data.Kind)
            {
                case LabelKind.SingleLabel:
                    classes.Add(ArgMax(logits));
                    trueClasses.Add((int)example.ClassId);
                    break;
                case LabelKind.MultiLabel:
                    labelSets.Add(logits.Select(x => x > 0).ToArray());
                    trueLabelSets.Add(example.Targets!.Select(x => x > 0.5f).ToArray());
                    break;
                case LabelKind.Regression:
                    values.Add(logits[0]);
                    trueValues.Add(example.Targets![0]);
                    break;
                default:
                    var labels = example.TokenLabels!;
                    var positions = Enumerable.Range(0, labels.Length).Where(t => labels[t] != FineTuneDataset.IgnoreIndex).ToArray();
                    trueTags.Add(positions.Select(t => labelNames[(int)labels[t]]).ToArray());
                    tags.Add(positions.Select(t => labelNames[ArgMax(logits[(t * width)..((t + 1) * width)])]).ToArray());
                    break;
            }
        }
    }

    public IReadOnlyDictionary<string, double> Metrics() => data.Kind switch
    {
        LabelKind.SingleLabel => Scores.Classification(classes, trueClasses),
        LabelKind.MultiLabel => Scores.MultiLabel(labelSets, trueLabelSets),
        LabelKind.Regression => Scores.Regression(values, trueValues),
        _ => Scores.Entities(tags, trueTags),
    };

    static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
