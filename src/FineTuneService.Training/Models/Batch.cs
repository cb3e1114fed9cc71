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
