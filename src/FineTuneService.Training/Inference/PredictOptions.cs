namespace FineTuneService.Training.Inference;

/// <summary>Options of a predict call. <see cref="TopK"/> is the number of candidates per [MASK] for masked LMs
/// (default 5) and the sampling filter for causal LMs, as in Hugging Face pipelines. Causal LMs decode greedily
/// unless <see cref="DoSample"/> is set, or is left null and a temperature, top_k or top_p asks for sampling;
/// <see cref="Seed"/> makes sampling reproducible.</summary>
public sealed record PredictOptions(
    int? TopK = null,
    int MaxNewTokens = 20,
    bool? DoSample = null,
    double? Temperature = null,
    double? TopP = null,
    long? Seed = null)
{
    public static readonly PredictOptions Default = new();

    /// <summary>Candidates per [MASK] when the request names no <see cref="TopK"/>.</summary>
    public const int DefaultMaskCandidates = 5;

    public bool Sampling => DoSample ?? (Temperature is not null || TopK is not null || TopP is not null);
}
