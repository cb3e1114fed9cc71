namespace FineTuneService.Training.Models;

/// <summary>A sequence classification model: single-label cross-entropy may weigh its classes.</summary>
public interface ISequenceClassifier : ITaskModel
{
    /// <summary>Per-class weights of the single-label cross-entropy (e.g. inverse frequencies); null = equal.</summary>
    float[]? ClassWeights { get; set; }
}
