using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>A sequence classifier's head: (B, C) logits, and the loss <c>problem_type</c> or the labels pick
/// (cross-entropy with optional class weights, BCE-with-logits, or MSE).</summary>
public abstract class SequenceClassifierHead<TConfig>(string architecture, TConfig config)
    : TaskHead<TConfig>(architecture, config), ISequenceClassifier where TConfig : ModelConfig
{
    public float[]? ClassWeights { get; set; }

    protected override Tensor Loss(Tensor logits, Tensor labels) => ModelParts.SequenceClassificationLoss(Config, logits, labels, ClassWeights);
}
