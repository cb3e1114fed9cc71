using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Registry;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Tenants;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using Hangfire;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Hub;

/// <summary>A pull from the Hub by id. The request does what can be refused cheaply, so refusals are the caller's 4xx:
/// the id and revision, the commit and its file list (gated, missing), safetensors weights and a tokenizer among them,
/// their announced sizes against the import limit, the tenant's quota and the disk, and config.json (an unsupported
/// architecture, the model budget). Then the model row is <c>importing</c> (its announced size reserved against the
/// quota) and a worker downloads the rest on the <c>hub</c> queue into the shared cache, copies the commit's files into
/// the model's folder and checks them as an upload is checked; the row shows its progress and ends <c>ready</c> or
/// <c>failed</c> (with the reason).</summary>
public sealed class HubImport(HubClient hub, ArtifactStore store, IStorageBudget disk, IOptions<StorageOptions> storage, IOptions<ModelBudget> budget,
    IOptions<HubOptions> options, IServiceScopeFactory scopes, TimeProvider clock, ILogger<HubImport> logger)
{
    public const string Queue = "hub";
    const string Field = "hub_id";
    const int MaxBodyBytes = 16 << 10;
    static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(0.5);

    HubCache Cache => new(Path.Combine(store.Root, "hub"));

    public async Task<Model> StartAsync(HttpRequest request, Caller caller, AppDbContext db, IBackgroundJobClient jobs, CancellationToken cancellationToken)
    {
        var (repoId, revision, name) = await ReadBodyAsync(request, cancellationToken);
        var token = options.Value.TokenFor(caller.TenantId);
        var resolved = await hub.ResolveAsync(repoId, revision, token, cancellationToken);
        var files = Needed(repoId, resolved);

        // Sized before anything is committed: the listing's sizes (each file's announced size is checked again before it is written).
        var limit = storage.Value.MaxModelBytes;
        var total = files.Sum(f => f.Size ?? 0);
        if (total > limit) throw new PayloadTooLargeException(Field, limit);
        foreach (var file in files)
        {
            if (file.Size > ModelFiles.MaxBytes(file.Name))
                throw new RequestValidationException(Field, $"'{file.Name}' is {file.Size} bytes, larger than {ModelFiles.MaxBytes(file.Name) >> 10} KiB");
        }
        await Quotas.EnsureStorageAsync(db, caller.TenantId, total, cancellationToken);
        // The cache's copy and the model's: twice what is announced, at most.
        if (disk.Refuse(Guid.Empty, 2 * total) is { } full)
            throw new ProblemException(ProblemCodes.InsufficientStorage, full);

        // config.json first: an architecture we cannot run is refused now, not after gigabytes.
        var configFile = files.Single(f => f.Name == "config.json");
        var configBlob = await hub.FetchAsync(Cache, repoId, resolved.Commit, configFile, ModelFiles.MaxBytes(configFile.Name), token, _ => { }, cancellationToken);
        var config = CheckConfig(repoId, configBlob);

        var id = Guid.NewGuid();
        var model = new Model
        {
            Id = id,
            Name = name ?? repoId,
            Path = ArtifactStore.ModelFolder(id),
            Architecture = config.Architectures?.FirstOrDefault(),
            ModelType = config.ModelType,
            SizeBytes = total,
            Status = ModelStatus.Importing,
            ImportBytesDone = 0,
            ImportBytesTotal = total,
            HubId = repoId,
            HubRevision = revision,
            HubCommit = resolved.Commit,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Models.Add(model);
        await db.SaveChangesAsync(cancellationToken);
        jobs.Enqueue<HubImport>(import => import.RunAsync(id, CancellationToken.None));
        logger.LogInformation("Model {ModelId} importing {HubId}@{Revision} ({Commit}, {Bytes} bytes) for {Caller}",
            id, repoId, revision, resolved.Commit, total, caller.ToString());
        return model;
    }

    /// <summary>The Hangfire job: re-entrant (a second run of an import finds its blobs in the cache and resumes a partial
    /// file with Range); a model deleted meanwhile stops it.</summary>
    [Queue(Queue), AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(Guid modelId, CancellationToken cancellationToken)
    {
        Model? model;
        await using (var scope = scopes.CreateAsyncScope())
        {
            model = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Models.AsNoTracking()
                .FirstOrDefaultAsync(m => m.Id == modelId && m.Status == ModelStatus.Importing, cancellationToken);
        }
        if (model is null) return;
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["ModelId"] = modelId });
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long done = 0;
        var reporting = ReportAsync(modelId, () => Interlocked.Read(ref done), gone);
        var temp = store.NewTempFolder();
        try
        {
            var repoId = model.HubId!;
            var commit = model.HubCommit!;
            var token = options.Value.TokenFor(model.TenantId);
            var resolved = await hub.ResolveAsync(repoId, commit, token, gone.Token);
            if (resolved.Commit != commit) throw new ProblemException(ProblemCodes.HubProtocolError, $"{repoId}: commit {commit} resolved to {resolved.Commit}");
            // The disk may have filled since the request was accepted.
            if (disk.Refuse(modelId, 2 * (model.ImportBytesTotal ?? 0)) is { } full) throw new ProblemException(ProblemCodes.InsufficientStorage, full);
            var folder = Directory.CreateDirectory(Path.Combine(temp, "model")).FullName;
            var limit = storage.Value.MaxModelBytes;
            foreach (var file in Needed(repoId, resolved))
            {
                var blob = await hub.FetchAsync(Cache, repoId, commit, file, Math.Min(limit, ModelFiles.MaxBytes(file.Name)), token,
                    bytes => Interlocked.Add(ref done, bytes), gone.Token);
                // A copy, not a link: the model stays whole whatever happens to the cache.
                File.Copy(blob, Path.Combine(folder, file.Name));
                if (ArtifactStore.FolderSize(folder) > limit) throw new PayloadTooLargeException(Field, limit);
            }
            ModelFiles.Check(folder, budget.Value, Field);
            var size = ArtifactStore.FolderSize(folder);
            // A listing without sizes reserved less than arrived: the rest must still fit the tenant's quota.
            if (size > model.SizeBytes)
            {
                await using var quota = scopes.CreateAsyncScope();
                await Quotas.EnsureStorageAsync(quota.ServiceProvider.GetRequiredService<AppDbContext>(), model.TenantId, size - model.SizeBytes, gone.Token);
            }
            Cache.Ref(repoId, model.HubRevision!, commit);
            store.Promote(folder, model.Path);
            await gone.CancelAsync();
            await reporting;
            await using var scope = scopes.CreateAsyncScope();
            var updated = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Models
                .Where(m => m.Id == modelId && m.Status == ModelStatus.Importing)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.Status, ModelStatus.Ready).SetProperty(m => m.SizeBytes, size)
                    .SetProperty(m => m.ImportBytesDone, size).SetProperty(m => m.ImportBytesTotal, size), CancellationToken.None);
            if (updated == 0) store.DeleteFolder(model.Path); // deleted while it was being checked
            logger.LogInformation("Model {ModelId} imported from {HubId} at {Commit}", modelId, repoId, commit);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            await gone.CancelAsync();
            await reporting;
            await FailAsync(modelId, e);
        }
        finally
        {
            store.DeleteFolder(temp);
        }
    }

    /// <summary>The files of the revision that a model needs, by the upload's rules (safetensors, never pickles; config and
    /// tokenizer files); a repo without them is the caller's 400.</summary>
    static List<HubFile> Needed(string repoId, HubRevision resolved)
    {
        var files = resolved.Files.Where(f => ModelFiles.IsKept(f.Name)).ToList();
        if (!files.Any(f => ModelFiles.IsWeights(f.Name)))
        {
            var pickled = resolved.Files.Where(f => ModelFiles.IsPickled(f.Name)).Select(f => f.Name).Take(3).ToList();
            throw new ProblemException(ProblemCodes.HubNoSafetensors, pickled.Count > 0
                    ? $"{repoId} at {resolved.Commit} has only pickled weights ({string.Join(", ", pickled)}), refused because unpickling runs code; " +
                      "import a revision with model.safetensors (the Hub's conversion bot opens one as a refs/pr/N revision)"
                    : $"{repoId} at {resolved.Commit} has no model.safetensors (or sharded index)");
        }
        if (!files.Any(f => f.Name == "config.json")) throw new RequestValidationException(Field, $"{repoId} at {resolved.Commit}: config.json is missing");
        if (ModelFiles.Missing([.. files.Select(f => f.Name)]) is { } missing) throw new RequestValidationException(Field, $"{repoId} at {resolved.Commit}: {missing}");
        return files;
    }

    ModelConfig CheckConfig(string repoId, string path)
    {
        string? modelType = null;
        try { modelType = JsonNode.Parse(File.ReadAllText(path))?["model_type"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { }
        if (ModelCatalogue.Find(modelType) is null)
        {
            throw new ProblemException(ProblemCodes.UnsupportedArchitecture, $"{repoId}: config.json model_type '{modelType}' is not one of {string.Join(", ", ModelCatalogue.Families.Select(f => f.ModelType))}");
        }
        try
        {
            var config = ModelConfig.Load(path);
            budget.Value.Enforce(config);
            return config;
        }
        catch (InvalidCheckpointException e) { throw new RequestValidationException(Field, $"{repoId}: {e.Message}"); }
    }

    async Task<(string RepoId, string Revision, string? Name)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes) throw new PayloadTooLargeException("body", MaxBodyBytes);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = MaxBodyBytes;
        JsonObject body;
        try { body = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken) as JsonObject ?? throw new RequestValidationException("body", "must be a JSON object"); }
        catch (JsonException e) { throw new RequestValidationException("body", $"not valid JSON: {e.Message}"); }

        var errors = new Dictionary<string, string[]>();
        foreach (var (key, _) in body)
            if (key is not ("hub_id" or "revision" or "name")) errors[key] = ["unknown field; a Hub import takes hub_id, revision and name"];
        var repoId = Text(body, "hub_id", errors);
        var revision = Text(body, "revision", errors) ?? "main";
        var name = Text(body, "name", errors)?.Trim();
        if (repoId is null) errors.TryAdd("hub_id", ["required: the Hub's model id, e.g. FacebookAI/roberta-base"]);
        else if (HubNames.RepoIdProblem(repoId) is { } problem) errors.TryAdd("hub_id", [problem]);
        if (HubNames.RevisionProblem(revision) is { } bad) errors.TryAdd("revision", [bad]);
        if (name is { Length: > DisplayName.MaxLength }) errors.TryAdd("name", [$"at most {DisplayName.MaxLength} characters"]);
        if (errors.Count > 0) throw new RequestValidationException(errors);
        return (repoId!, revision, name is { Length: > 0 } ? name : null);
    }

    static string? Text(JsonObject body, string key, Dictionary<string, string[]> errors)
    {
        if (body[key] is not { } node) return null;
        if (node is JsonValue value && value.TryGetValue<string>(out var text)) return text;
        errors.TryAdd(key, ["must be a string"]);
        return null;
    }

    /// <summary>Writes the bytes in place every <see cref="ProgressInterval"/> until <paramref name="gone"/> is cancelled;
    /// cancels it when the row is no longer an import (deleted).</summary>
    async Task ReportAsync(Guid modelId, Func<long> done, CancellationTokenSource gone)
    {
        using var timer = new PeriodicTimer(ProgressInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(gone.Token))
            {
                await using var scope = scopes.CreateAsyncScope();
                var bytes = done();
                var updated = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Models
                    .Where(m => m.Id == modelId && m.Status == ModelStatus.Importing)
                    .ExecuteUpdateAsync(set => set.SetProperty(m => m.ImportBytesDone, bytes), gone.Token);
                if (updated == 0)
                {
                    logger.LogInformation("Model {ModelId} was deleted while importing; stopping", modelId);
                    await gone.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (Transient.Is(e))
        {
            // Progress is best effort: the import goes on, and its end is written with retries of its own.
            logger.LogWarning(e, "Model {ModelId}: progress not written", modelId);
        }
    }

    async Task FailAsync(Guid modelId, Exception e)
    {
        var reason = e switch
        {
            RequestValidationException v => "validation_failed: " + string.Join("; ", v.Errors!.SelectMany(kv => kv.Value)),
            ProblemException p => $"{p.Code.Code}: {p.Message}",
            OperationCanceledException => "cancelled: the model was deleted",
            _ => $"internal_error: unexpected ({e.GetType().Name}); see the worker's log",
        };
        if (e is not (ProblemException or OperationCanceledException))
            logger.LogError(e, "Model {ModelId}: Hub import failed", modelId);
        else
            logger.LogWarning("Model {ModelId}: Hub import failed: {Reason}", modelId, reason);
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AppDbContext>().Models
            .Where(m => m.Id == modelId && m.Status == ModelStatus.Importing)
            .ExecuteUpdateAsync(set => set.SetProperty(m => m.Status, ModelStatus.Failed).SetProperty(m => m.SizeBytes, 0L)
                .SetProperty(m => m.ImportError, reason.Length > 2000 ? reason[..2000] : reason), CancellationToken.None);
    }
}
