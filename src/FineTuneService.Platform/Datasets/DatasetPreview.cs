namespace FineTuneService.Platform.Datasets;

public sealed record DatasetPreview(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyDictionary<string, string>> Rows);
