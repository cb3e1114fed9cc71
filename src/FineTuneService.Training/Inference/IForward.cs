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

/// <summary>Decodes one sequence: each call feeds the positions after those already in the key-value cache, so a new
/// token costs one position rather than the whole context.</summary>
interface IDecoder : IDisposable
{
    /// <summary>Positions in the cache.</summary>
    int Length { get; }

    /// <summary>float32 logits (V) after the last of <paramref name="ids"/>, which follow the cached positions; the
    /// cache then holds them too.</summary>
    Tensor Next(long[] ids);

    /// <summary>Empties the cache (the context slid past the model's positions).</summary>
    void Reset();
}
