using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Datasets;

/// <summary>The multipart form of <c>POST /datasets</c> (OpenAPI shape; the handler streams the parts itself).</summary>
/// <param name="File">The data: csv, tsv, jsonl or txt, optionally gzipped.</param>
/// <param name="Name">Display name; default the file's name.</param>
/// <param name="Format">csv, tsv, jsonl or txt; default detected from the name and content.</param>
public sealed record DatasetUploadForm(IFormFile File, string? Name, string? Format);
