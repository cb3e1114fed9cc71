namespace FineTuneService.Training.Inference;

/// <summary>One input to predict or tokenize: a text, or a pair of texts for pair tasks.</summary>
public sealed record PredictInput(string Text, string? TextPair = null);

/// <summary>An input with its tokens, made by <see cref="LoadedModel.Encode"/>.</summary>
public sealed record EncodedInput(PredictInput Input, Tokenization.Encoding Encoding)
{
    public int Length => Encoding.Length;
}

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

/// <summary>An input the loaded model cannot take (no [MASK] for a masked LM, a prompt too long, …);
/// <see cref="Field"/> names the request field, e.g. <c>inputs[2]</c>.</summary>
public sealed class PredictInputException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
