using System.Text.Json.Nodes;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Inference;

/// <summary>How an int8 copy of a single-label classifier compares with its fp32 model on labelled examples:
/// how often the two choose the same label, and each one's accuracy against the true labels.</summary>
public sealed record QuantizationReport(int Examples, double Agreement, double Fp32Accuracy, double Int8Accuracy)
{
    /// <summary>int8 accuracy minus fp32 accuracy, in percentage points.</summary>
    public double AccuracyDeltaPoints => 100 * (Int8Accuracy - Fp32Accuracy);

    public JsonObject ToJson() => new()
    {
        ["examples"] = Examples,
        ["agreement"] = Agreement,
        ["fp32_accuracy"] = Fp32Accuracy,
        ["int8_accuracy"] = Int8Accuracy,
        ["accuracy_delta_points"] = Math.Round(AccuracyDeltaPoints, 4),
    };

    /// <summary>Predicts every example with both models (in chunks, so memory stays bounded) and counts. Labels are the
    /// models' label names (config.json <c>id2label</c>).</summary>
    public static QuantizationReport Measure(LoadedModel fp32, LoadedModel int8, IReadOnlyList<(PredictInput Input, string Label)> examples)
    {
        if (fp32.Kind != ModelKind.SequenceClassification || int8.Kind != ModelKind.SequenceClassification)
        {
            throw new PredictInputException("agreement and accuracy are measured for single-label sequence classification models");
        }
        int agree = 0, fp32Right = 0, int8Right = 0;
        foreach (var chunk in examples.Chunk(64))
        {
            var inputs = chunk.Select(e => e.Input).ToArray();
            var a = fp32.Predict(inputs, PredictOptions.Default);
            var b = int8.Predict(inputs, PredictOptions.Default);
            for (int i = 0; i < chunk.Length; i++)
            {
                string la = ((Prediction.Classification)a[i]).Label, lb = ((Prediction.Classification)b[i]).Label;
                agree += la == lb ? 1 : 0;
                fp32Right += la == chunk[i].Label ? 1 : 0;
                int8Right += lb == chunk[i].Label ? 1 : 0;
            }
        }
        double n = Math.Max(1, examples.Count);
        return new QuantizationReport(examples.Count, agree / n, fp32Right / n, int8Right / n);
    }
}
