using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Datasets;

public sealed record DatasetResponse(
    Guid Id, string Name, string FileName, string Format, long SizeBytes, string Sha256, long NumRows,
    long? NumDocuments, long? NumLines, long? NumBytes, IReadOnlyList<string> Columns, DateTime CreatedAt)
{
    public static DatasetResponse From(Dataset d) =>
        new(d.Id, d.Name, d.FileName, d.Format, d.SizeBytes, d.Sha256, d.NumRows, d.NumDocuments, d.NumLines, d.NumBytes,
            d.Columns, d.CreatedAt);
}
