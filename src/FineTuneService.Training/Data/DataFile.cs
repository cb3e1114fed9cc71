namespace FineTuneService.Training.Data;

/// <summary>A data file on the artifacts volume. Format: csv, tsv, jsonl, txt (corpus); the file may be gzip-compressed.
/// <see cref="Summary"/>: what its upload's inspection recorded, so a job is checked without reading the file again.</summary>
public sealed record DataFile(string Path, string Format, TabularSummary? Summary = null);
