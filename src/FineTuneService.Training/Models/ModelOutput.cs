using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>What a task head returns: the loss when the batch has labels, and its logits
/// ((B, C) classification, (B) or (B, 1) regression, (B, T, C) token classification, (B, T, V) LM).
/// NspLogits: (B, 2) for BERT pretraining.</summary>
public sealed record ModelOutput(Tensor? Loss, Tensor Logits, Tensor? NspLogits = null);
