namespace FineTuneService.Training.Inference;

/// <summary>One input to predict or tokenize: a text, or a pair of texts for pair tasks.</summary>
public sealed record PredictInput(string Text, string? TextPair = null);
