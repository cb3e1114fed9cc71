using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Tenants;
using FineTuneService.Training.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Datasets;

public static class DatasetEndpoints
{
    public static RouteGroupBuilder MapDatasetEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/datasets").WithTags("Datasets").RequireKey(Policies.TenantData);
        group.MapPost("/", Upload).WithName("UploadDataset").DisableAntiforgery()
            .WithRequestBody<DatasetUploadForm>("multipart/form-data").WithProblems(400, 413, 415)
            .WithSummary("Upload a dataset (multipart: file, optional name and format: csv, tsv, jsonl, txt; may be gzipped)")
            .WithDescription("Streams the file to the artifacts volume (never into memory), detects its format and columns, counts its rows " +
                "(and, for a corpus, documents, lines and uncompressed bytes). Above Storage:MaxDatasetBytes it is a 413; a file that cannot be read is a 400 naming `file`.");
        group.MapGet("/", List).WithName("ListDatasets").WithSummary("List datasets, newest first, paged").WithProblems(400);
        group.MapGet("/{id:guid}", Get).WithName("GetDataset").WithSummary("Get one dataset").WithProblems(404);
        group.MapGet("/{id:guid}/preview", Preview).WithName("PreviewDataset").WithSummary("The first rows of a dataset")
            .WithDescription("`rows` (1 to 100, default 10) rows as column → text.").WithProblems(400, 404);
        group.MapGet("/{id:guid}/download", Download).WithName("DownloadDataset").WithSummary("The uploaded file as it was sent")
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream").WithProblems(404);
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteDataset").WithSummary("Delete a dataset that no active job uses")
            .WithProblems(404, 409);
        return group;
    }

    static async Task<Created<DatasetResponse>> Upload(HttpRequest request, Caller caller, AppDbContext db, ArtifactStore store,
        IOptions<StorageOptions> options, IOptions<DataLimits> limits, TimeProvider clock, ILogger<Dataset> logger, CancellationToken cancellationToken)
    {
        var temp = store.NewTempFolder();
        string? folder = null;
        try
        {
            var form = await Quotas.ReadUploadAsync(request, db, caller.TenantId, temp, "file", options.Value.MaxDatasetBytes, cancellationToken);
            if (form.Files is not [var file])
                throw new RequestValidationException("file", form.Files.Count == 0 ? "required: a multipart part named 'file'" : "send one file");
            var format = form.Fields.GetValueOrDefault("format")?.Trim().ToLowerInvariant() is { Length: > 0 } f ? f : null;
            if (format is not null && !DatasetFile.Formats.Contains(format))
                throw new RequestValidationException("format", $"'{format}' is not supported; use one of {string.Join(", ", DatasetFile.Formats)}");
            var name = form.Fields.GetValueOrDefault("name")?.Trim() is { Length: > 0 } n ? n : file.ClientFileName;
            if (name.Length > DisplayName.MaxLength) throw new RequestValidationException("name", $"at most {DisplayName.MaxLength} characters");

            DatasetFile.Inspection inspection;
            // Bounded as it streams, and stopped when the client goes away (the request's token).
            try { inspection = await Task.Run(() => DatasetFile.Inspect(file.Path, file.ClientFileName, format, limits.Value.For(cancellationToken)), cancellationToken); }
            catch (DataFormatException e) { throw new RequestValidationException("file", e.Message); }

            var id = Guid.NewGuid();
            folder = ArtifactStore.DatasetFolder(id);
            store.Promote(temp, folder);
            var dataset = new Dataset
            {
                Id = id,
                Name = name.Length > 0 ? name : "dataset",
                FileName = file.ClientFileName,
                Format = inspection.Format,
                Path = Path.Combine(folder, Path.GetFileName(inspection.Path)),
                SizeBytes = file.Length,
                Sha256 = file.Sha256,
                NumRows = inspection.NumRows,
                Columns = [.. inspection.Columns],
                NumDocuments = inspection.Corpus?.Documents,
                NumLines = inspection.Corpus?.Lines,
                NumBytes = inspection.Corpus?.Bytes,
                ColumnValues = inspection.ColumnValues?.ToDictionary(kv => kv.Key, kv => kv.Value.ToList()),
                CreatedAt = clock.GetUtcNow().UtcDateTime,
            };
            db.Datasets.Add(dataset);
            await db.SaveChangesAsync(cancellationToken);
            folder = null;
            logger.LogInformation("Dataset {DatasetId} uploaded by {Caller}", id, caller.ToString());
            return TypedResults.Created($"/datasets/{id}", DatasetResponse.From(dataset));
        }
        finally
        {
            store.DeleteFolder(temp);
            if (folder is not null) store.DeleteFolder(folder);
        }
    }

    static async Task<Ok<PagedList<DatasetResponse>>> List(AppDbContext db, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize) =>
        TypedResults.Ok(await Paging.ReadAsync(db.Datasets.AsNoTracking().OrderByDescending(d => d.CreatedAt).ThenBy(d => d.Id),
            page, pageSize, DatasetResponse.From, cancellationToken));

    static async Task<Ok<DatasetResponse>> Get(Guid id, AppDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(DatasetResponse.From(await Find(db, id, cancellationToken)));

    static async Task<Ok<DatasetPreview>> Preview(Guid id, AppDbContext db, ArtifactStore store, CancellationToken cancellationToken, int rows = 10)
    {
        if (rows is < 1 or > 100) throw new RequestValidationException("rows", "between 1 and 100");
        var dataset = await Find(db, id, cancellationToken);
        var first = DatasetFile.Rows(store.FullPath(dataset.Path), dataset.Format).Take(rows).ToList();
        return TypedResults.Ok(new DatasetPreview(dataset.Columns, first));
    }

    static async Task<FileStreamHttpResult> Download(Guid id, AppDbContext db, ArtifactStore store, CancellationToken cancellationToken)
    {
        var dataset = await Find(db, id, cancellationToken);
        var name = Path.GetFileName(dataset.FileName.Replace('\\', '/'));
        return TypedResults.File(File.OpenRead(store.FullPath(dataset.Path)), "application/octet-stream",
            name.Length > 0 ? name : Path.GetFileName(dataset.Path));
    }

    /// <summary>Finished jobs let go of the dataset; one that has not finished holds it (a foreign key), which is a 409.
    /// Of concurrent deletes one is a 204, the others 404.</summary>
    static async Task<NoContent> Delete(Guid id, Caller caller, AppDbContext db, ArtifactStore store, ILogger<Dataset> logger, CancellationToken cancellationToken)
    {
        var dataset = await Find(db, id, cancellationToken);
        var deleted = await Deletion.DeleteAsync(db, async () =>
        {
            var finished = db.Jobs.Where(j => JobStatusGroups.Finished.Contains(j.Status));
            await finished.Where(j => j.TrainDatasetId == id).ExecuteUpdateAsync(set => set.SetProperty(j => j.TrainDatasetId, (Guid?)null), cancellationToken);
            await finished.Where(j => j.ValidationDatasetId == id).ExecuteUpdateAsync(set => set.SetProperty(j => j.ValidationDatasetId, (Guid?)null), cancellationToken);
            return await db.Datasets.Where(d => d.Id == id).ExecuteDeleteAsync(cancellationToken);
        }, $"Dataset {id} is used by a job that has not finished.", cancellationToken);
        if (!deleted) throw new NotFoundException("dataset", id);
        store.DeleteFolder(Path.GetDirectoryName(dataset.Path)!);
        logger.LogInformation("Dataset {DatasetId} deleted by {Caller}", id, caller.ToString());
        return TypedResults.NoContent();
    }

    internal static async Task<Dataset> Find(AppDbContext db, Guid id, CancellationToken cancellationToken) =>
        await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, cancellationToken) ?? throw new NotFoundException("dataset", id);
}
