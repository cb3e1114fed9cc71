namespace FineTuneService.Training.Data;

/// <summary>What inspection found. <see cref="Values"/>: each column's distinct values, for the columns with at most
/// <see cref="TabularData.MaxRecordedValues"/> short ones (label columns): what a job is checked against without reading the file.</summary>
public sealed record TabularSummary(IReadOnlyList<string> Columns, long NumRows, IReadOnlyDictionary<string, IReadOnlyList<string>>? Values = null);
