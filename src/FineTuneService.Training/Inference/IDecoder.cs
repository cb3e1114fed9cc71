using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

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
