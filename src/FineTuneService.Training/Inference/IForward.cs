using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>One engine's forward pass. <see cref="LoadedModel"/> turns its logits into answers the same way whichever
/// engine made them.</summary>
interface IForward : IDisposable
{
    InferenceEngine Engine { get; }

    /// <summary>float32 logits: (B, C) per sequence or (B, T, C) per token.</summary>
    Tensor Logits(PaddedRows batch);

    /// <summary>A causal LM's decoder of one sequence, with an empty key-value cache.</summary>
    IDecoder Decoder();
}
