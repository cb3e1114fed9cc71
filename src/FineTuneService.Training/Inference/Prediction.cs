using FineTuneService.Training.Models;
namespace FineTuneService.Training.Inference;

/// <summary>What a loaded model predicts for one input; one case per <see cref="ModelKind"/> with a head. The host
/// turns these into its wire format.</summary>
public abstract record Prediction
{
    Prediction() { }

    /// <summary>Sequence classification: the best label and its probability, every label's probability (softmax, or
    /// sigmoid for multi-label) and, for multi-label, the labels at or above 0.5.</summary>
    public sealed record Classification(string Label, float Score, IReadOnlyList<(string Label, float Score)> Scores,
        IReadOnlyList<string>? Labels = null) : Prediction;

    public sealed record Regression(float Value) : Prediction;

    /// <summary>Token classification: the entities grouped from the IOB2 tags.</summary>
    public sealed record Entities(IReadOnlyList<Entity> Items) : Prediction;

    /// <summary>Masked LM: the candidates of each [MASK], by token position.</summary>
    public sealed record MaskFills(IReadOnlyList<MaskFill> Masks) : Prediction;

    /// <summary>Causal LM: the prompt followed by the continuation, and how many tokens were generated.</summary>
    public sealed record Generation(string GeneratedText, int NewTokens) : Prediction;

    /// <summary>An entity: its type, its text as character offsets into the first text, and the mean score of its words.</summary>
    public sealed record Entity(string Type, string Text, int Start, int End, double Score);

    public sealed record MaskFill(int Position, IReadOnlyList<MaskCandidate> Candidates);

    public sealed record MaskCandidate(string Token, int TokenId, float Score);
}
