namespace FineTuneService.Platform.Registry;

/// <param name="DatasetId">The labelled dataset.</param>
/// <param name="Columns">Its text, optional text_pair and label columns.</param>
/// <param name="MaxRows">Rows measured (at most 20,000).</param>
public sealed record QuantizeEvaluationBody(Guid DatasetId, Scheduling.ColumnSpec Columns, int? MaxRows);
