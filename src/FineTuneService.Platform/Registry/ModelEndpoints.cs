using System.IO.Compression;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Hub;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Serving;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Tenants;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Registry;

public static class ModelEndpoints
{
    public static RouteGroupBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/models").WithTags("Models").RequireKey(Policies.TenantData);
        group.MapPost("/import", Import).WithName("ImportModel").DisableAntiforgery()
            .WithRequestBody<ModelImportForm>("multipart/form-data").WithRequestBody<HubImportBody>("application/json")
            .WithProblems(400, 403, 404, 413, 415, 502, 507)
            .WithSummary("Import a Hugging Face model folder: 'files' parts (config.json, model.safetensors, vocab.txt or tokenizer.json, ...) or one .zip / .tar.gz; " +
                "or pull one from the Hub by id (JSON {\"hub_id\", \"revision\"})")
            .WithDescription("Only safetensors weights are loaded (pickled .bin files are refused: unpickling runs code). The config's architecture " +
                "and the tokenizer files are checked; a missing or unreadable file is a 400 naming `files`. A Hub pull answers 202 with the model " +
                "`importing` (status and progress on GET /models/{id}) once its commit, files, sizes and config.json have passed; refusals: " +
                "403 hub_repo_gated, 404 hub_repo_not_found / hub_revision_not_found, 400 hub_no_safetensors / unsupported_architecture, " +
                "413 over Storage:MaxModelBytes, 403 storage_quota_exceeded, 502 when the Hub fails.");
        group.MapGet("/", List).WithName("ListModels").WithSummary("List models, newest first, paged").WithProblems(400);
        group.MapGet("/{id:guid}", Get).WithName("GetModel").WithSummary("One model, with its lineage (source job, base model)").WithProblems(404);
        group.MapGet("/{id:guid}/download", Download).WithName("DownloadModel")
            .WithSummary("The Hugging Face folder as a zip; format=onnx: the ONNX graph (model.onnx) with config.json and the tokenizer files")
            .Produces<Stream>(StatusCodes.Status200OK, "application/zip").WithProblems(400, 404, 409);
        group.MapPost("/{id:guid}/quantize", Quantize).WithName("QuantizeModel")
            .WithRequestBody<QuantizeBody>("application/json", required: false).WithProblems(400, 404, 409)
            .WithSummary("A new registry model whose ONNX graph has per-column int8 matrix products, optionally measured against this one on a labelled dataset");
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteModel").WithSummary("Delete a model that no active job uses").WithProblems(403, 404, 409);
        group.MapPatch("/{id:guid}", Update).WithName("UpdateModel").RequireKey(Policies.Admin).WithProblems(400, 404)
            .WithSummary("Share a model with every tenant, or stop sharing it (admin)");
        return group;
    }

    static async Task<Results<Created<ModelResponse>, Accepted<ModelResponse>>> Import(HttpRequest request, Caller caller, AppDbContext db,
        ArtifactStore store, IOptions<StorageOptions> options, IOptions<ModelBudget> budget, HubImport hub, IBackgroundJobClient jobs, TimeProvider clock,
        ILogger<Model> logger, CancellationToken cancellationToken)
    {
        if (request.HasJsonContentType())
        {
            var pulled = await hub.StartAsync(request, caller, db, jobs, cancellationToken);
            return TypedResults.Accepted($"/models/{pulled.Id}", ModelResponse.From(pulled, store));
        }

        var temp = store.NewTempFolder();
        string? folder = null;
        try
        {
            var form = await Quotas.ReadUploadAsync(request, db, caller.TenantId, temp, "files", options.Value.MaxModelBytes, cancellationToken);
            ModelFiles.Assemble(form.Files, temp, options.Value.MaxModelBytes, budget.Value);
            var name = form.Fields.GetValueOrDefault("name")?.Trim() is { Length: > 0 } n ? n : "imported model";
            if (name.Length > DisplayName.MaxLength) throw new RequestValidationException("name", $"at most {DisplayName.MaxLength} characters");

            var id = Guid.NewGuid();
            folder = ArtifactStore.ModelFolder(id);
            store.Promote(Path.Combine(temp, "model"), folder);
            var model = ModelFiles.Describe(store, id, folder, name, null, null, clock);
            // An archive unpacks to more than was uploaded.
            await Quotas.EnsureStorageAsync(db, caller.TenantId, model.SizeBytes, cancellationToken);
            db.Models.Add(model);
            await db.SaveChangesAsync(cancellationToken);
            folder = null;
            logger.LogInformation("Model {ModelId} imported by {Caller}", id, caller.ToString());
            return TypedResults.Created($"/models/{id}", ModelResponse.From(model, store));
        }
        finally
        {
            store.DeleteFolder(temp);
            if (folder is not null) store.DeleteFolder(folder);
        }
    }

    static async Task<Ok<PagedList<ModelResponse>>> List(AppDbContext db, ArtifactStore store, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize)
    {
        var models = await Paging.ReadAsync(db.Models.AsNoTracking().OrderByDescending(m => m.CreatedAt).ThenBy(m => m.Id),
            page, pageSize, m => m, cancellationToken);
        return TypedResults.Ok(new PagedList<ModelResponse>(await ModelResponse.VisibleAsync(models.Items, db, store, cancellationToken),
            models.Page, models.PageSize, models.Total));
    }

    static async Task<Ok<ModelResponse>> Get(Guid id, AppDbContext db, ArtifactStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok((await ModelResponse.VisibleAsync([await Find(db, id, cancellationToken)], db, store, cancellationToken))[0]);

    static async Task<Ok<ModelResponse>> Update(Guid id, UpdateModelRequest body, Caller caller, AppDbContext db, ArtifactStore store,
        ILogger<Model> logger, CancellationToken cancellationToken)
    {
        var model = await db.Models.FirstOrDefaultAsync(m => m.Id == id, cancellationToken) ?? throw new NotFoundException("model", id);
        if (body.Shared is { } shared) model.Shared = shared;
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Model {ModelId} shared={Shared} set by {Caller}", id, model.Shared, caller.ToString());
        return TypedResults.Ok((await ModelResponse.VisibleAsync([model], db, store, cancellationToken))[0]);
    }

    /// <summary>Files of an ONNX download besides the graph: what a tokenizer and a pipeline need to run it.</summary>
    static readonly string[] OnnxCompanions =
    [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
        "vocab.json", "merges.txt", "added_tokens.json",
    ];

    static async Task<PushStreamHttpResult> Download(Guid id, string? format, HttpContext context, AppDbContext db, ArtifactStore store,
        CancellationToken cancellationToken)
    {
        var model = Ready(await Find(db, id, cancellationToken));
        var folder = store.FullPath(model.Path);
        IEnumerable<(string Name, string Path)> files;
        switch (format)
        {
            case null or "huggingface":
                files = Directory.GetFiles(folder).Order().Select(f => (Path.GetFileName(f), f));
                break;
            case "onnx":
                var graph = await Task.Run(() => OnnxExport.Cached(folder, ModelQuantization.PrecisionOf(model)), cancellationToken)
                    ?? throw new RequestValidationException("format", $"{model.Architecture} has no ONNX graph yet; download format=huggingface");
                files = OnnxCompanions.Select(name => (name, Path.Combine(folder, name))).Where(f => File.Exists(f.Item2))
                    .Prepend((OnnxExport.FileName, graph));
                break;
            default:
                throw new RequestValidationException("format", "huggingface (the default) or onnx");
        }
        // ZipArchive's async writer miscounts offsets on a non-seekable stream (.NET 10): write synchronously.
        context.Features.GetRequiredFeature<IHttpBodyControlFeature>().AllowSynchronousIO = true;
        return TypedResults.Stream(body =>
        {
            using var zip = new ZipArchive(body, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, file) in files)
            {
                // Weights hardly compress; store them so the download streams at disk speed.
                using var target = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                using var source = File.OpenRead(file);
                source.CopyTo(target);
            }
            return Task.CompletedTask;
        }, "application/zip", format == "onnx" ? $"model-{id:N}-onnx.zip" : $"model-{id:N}.zip");
    }

    static async Task<Created<ModelResponse>> Quantize(Guid id, HttpRequest request, Caller caller, AppDbContext db, ArtifactStore store,
        TimeProvider clock, ILogger<Model> logger, CancellationToken cancellationToken)
    {
        await Quotas.EnsureStorageAsync(db, caller.TenantId, 0, cancellationToken);
        // The body is optional: no body quantizes without measuring.
        var body = !request.HasJsonContentType() && (request.ContentLength ?? 0) == 0
            ? new JsonObject()
            : await PredictRequest.ReadBodyAsync(request, cancellationToken);
        var spec = ModelQuantization.ParseRequest(body);
        var source = Ready(await Find(db, id, cancellationToken));
        var evaluation = spec.Evaluation is { } e ? await DatasetEndpoints.Find(db, e.DatasetId, cancellationToken) : null;
        var model = await Task.Run(() => ModelQuantization.Quantize(source, spec, evaluation, store, clock), cancellationToken);
        try
        {
            await Quotas.EnsureStorageAsync(db, caller.TenantId, model.SizeBytes, cancellationToken);
            db.Models.Add(model);
            await db.SaveChangesAsync(cancellationToken);
        }
        catch
        {
            store.DeleteFolder(model.Path);
            throw;
        }
        logger.LogInformation("Model {ModelId} quantized from {SourceModelId} by {Caller}", model.Id, id, caller.ToString());
        return TypedResults.Created($"/models/{model.Id}", ModelResponse.From(model, store));
    }

    /// <summary>Finished jobs let go of their base model; one that has not finished holds it (a foreign key), which is a 409.
    /// Of concurrent deletes one is a 204, the others 404. A shared model is read-only but to admins.</summary>
    static async Task<NoContent> Delete(Guid id, Caller caller, AppDbContext db, ArtifactStore store, ILogger<Model> logger, CancellationToken cancellationToken)
    {
        var model = await Find(db, id, cancellationToken);
        if (model.Shared && !caller.IsAdmin)
        {
            throw new ProblemException(ProblemCodes.SharedModelReadOnly, $"Model {id} is shared with every tenant; only an admin can unshare or delete it.");
        }

        var deleted = await Deletion.DeleteAsync(db, async () =>
        {
            await db.Jobs.Where(j => j.BaseModelId == id && JobStatusGroups.Finished.Contains(j.Status))
                .ExecuteUpdateAsync(set => set.SetProperty(j => j.BaseModelId, (Guid?)null), cancellationToken);
            return await db.Models.Where(m => m.Id == id).ExecuteDeleteAsync(cancellationToken);
        }, $"Model {id} is the base of a job that has not finished.", cancellationToken);
        if (!deleted) throw new NotFoundException("model", id);
        store.DeleteFolder(model.Path);
        logger.LogInformation("Model {ModelId} deleted by {Caller}", id, caller.ToString());
        return TypedResults.NoContent();
    }

    static async Task<Model> Find(AppDbContext db, Guid id, CancellationToken cancellationToken) =>
        await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken) ?? throw new NotFoundException("model", id);

    /// <summary>A model whose files are all in place; a Hub import still downloading (or failed) is a 409.</summary>
    public static Model Ready(Model model) => model.Status == ModelStatus.Ready ? model
        : throw new ProblemException(ProblemCodes.ModelNotReady, model.Status == ModelStatus.Importing
                ? $"Model {model.Id} is still importing from the Hub; GET /models/{model.Id} shows its progress."
                : $"Model {model.Id}'s import failed: {model.ImportError}");
}
