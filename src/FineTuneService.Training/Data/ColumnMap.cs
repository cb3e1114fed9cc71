namespace FineTuneService.Training.Data;

/// <summary>Which columns of a tabular dataset feed the model.</summary>
public sealed record ColumnMap(string Text = "text", string? TextPair = null, string? Label = "label");
