namespace FineTuneService.Platform.Persistence;

/// <summary>An uploaded data file. <see cref="Path"/> is relative to the storage root; <see cref="FileName"/> is the
/// client's name, kept for display only.</summary>
public sealed class Dataset : ITenantOwned
{
    public Guid Id { get; init; }
    public Guid TenantId { get; set; }
    public required string Name { get; set; }
    public required string FileName { get; init; }
    public required string Format { get; init; }
    public required string Path { get; init; }
    public long SizeBytes { get; init; }
    public required string Sha256 { get; init; }
    public long NumRows { get; init; }
    public List<string> Columns { get; init; } = [];
    /// <summary>Corpus statistics (documents, non-blank lines, uncompressed bytes): set for txt, and for jsonl whose every
    /// line has a string <c>text</c>; null for other data.</summary>
    public long? NumDocuments { get; init; }
    public long? NumLines { get; init; }
    public long? NumBytes { get; init; }
    /// <summary>Each column's distinct values as the upload found them, for columns with at most
    /// <see cref="MaxRecordedValues"/> (a label column); what <c>POST /jobs</c> checks labels against without reading the data.</summary>
    public Dictionary<string, List<string>>? ColumnValues { get; init; }
    public DateTime CreatedAt { get; init; }

    public const int MaxRecordedValues = 1000;
}
