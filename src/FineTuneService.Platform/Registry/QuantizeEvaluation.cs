namespace FineTuneService.Platform.Registry;

/// <summary>Up to <see cref="MaxRows"/> rows of a dataset: the text (and pair) columns, and the true label's column.</summary>
public sealed record QuantizeEvaluation(Guid DatasetId, string Text, string? TextPair, string Label, int MaxRows);
