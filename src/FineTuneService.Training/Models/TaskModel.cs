using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>One padded batch. Shapes: (B, T) for ids and masks; labels are task-specific:
/// (B) int64 class ids, (B, C) float multi-hot, (B) float regression targets,
/// (B, T) int64 token labels / MLM labels with -100 = ignore; NextSentenceLabels (B) int64.</summary>
public sealed record Batch(
    Tensor InputIds,
    Tensor AttentionMask,
    Tensor? TokenTypeIds = null,
    Tensor? Labels = null,
    Tensor? NextSentenceLabels = null) : IDisposable
{
    public int Size => (int)InputIds.shape[0];

    /// <summary>Real (unpadded) tokens, counted by the collator on the host: the mask's sum would be a read of the
    /// device every step.</summary>
    public long Tokens { get; init; }

    public Batch To(Device device) => new(InputIds.to(device), AttentionMask.to(device), TokenTypeIds?.to(device),
        Labels?.to(device), NextSentenceLabels?.to(device))
    { Tokens = Tokens };

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds?.Dispose(); Labels?.Dispose(); NextSentenceLabels?.Dispose();
    }
}

/// <summary>What a task head returns: the loss when the batch has labels, and its logits
/// ((B, C) classification, (B) or (B, 1) regression, (B, T, C) token classification, (B, T, V) LM).
/// NspLogits: (B, 2) for BERT pretraining.</summary>
public sealed record ModelOutput(Tensor? Loss, Tensor Logits, Tensor? NspLogits = null);

/// <summary>A model with a task head that the Trainer can train: parameters carry Hugging Face names.</summary>
public interface ITaskModel
{
    nn.Module Module { get; }
    /// <summary>The config it was built from (written to config.json on export).</summary>
    ModelConfig Config { get; }
    /// <summary>The Hugging Face class name, e.g. <c>BertForSequenceClassification</c> (config.json <c>architectures</c>).</summary>
    string Architecture { get; }
    ModelOutput Forward(Batch batch);
}

/// <summary>A sequence classification model: single-label cross-entropy may weigh its classes.</summary>
public interface ISequenceClassifier : ITaskModel
{
    /// <summary>Per-class weights of the single-label cross-entropy (e.g. inverse frequencies); null = equal.</summary>
    float[]? ClassWeights { get; set; }
}
