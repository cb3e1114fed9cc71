using System.Security.Cryptography;
using System.Text;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Tenants;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training.Models;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Scheduling;

public static class JobEndpoints
{
    const int MaxIdempotencyKeyLength = 200;

    public static RouteGroupBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/jobs").WithTags("Jobs").RequireKey(Policies.TenantData);
        group.MapPost("/", Create).WithName("CreateJob").Accepts<JobSpec>("application/json").WithProblems(400, 409, 429)
            .WithSummary("Create a training job from a spec (Hugging Face TrainingArguments names); honours Idempotency-Key")
            .WithDescription("Checks the whole spec first (datasets, columns, base model, every hyperparameter) and answers every problem at once " +
                "as a 400 naming its field (`hyperparameters.learning_rate`, `columns.label`, …). A retry with the same `Idempotency-Key` and body " +
                "returns the first job; the same key with another body is a 409.");
        group.MapGet("/", List).WithName("ListJobs").WithSummary("List jobs, newest first; filter by status and type").WithProblems(400);
        group.MapGet("/{id:guid}", Get).WithName("GetJob").WithSummary("Status, progress, resolved hyperparameters, result model").WithProblems(404);
        group.MapGet("/{id:guid}/metrics", Metrics).WithName("GetJobMetrics").WithSummary("Metric points; since_step for polling")
            .WithDescription("Points `{step, epoch, name, value, split}` in step order: loss, learning_rate, grad_norm, throughput every logging_steps; eval_* per evaluation.")
            .WithProblems(404);
        group.MapGet("/{id:guid}/events", Events).WithName("GetJobEvents").WithSummary("The job's event log").WithProblems(404);
        group.MapGet("/{id:guid}/checkpoints", Checkpoints).WithName("GetJobCheckpoints").WithSummary("Checkpoints with their metrics").WithProblems(404);
        group.MapDelete("/{id:guid}", Delete).WithName("DeleteJob").WithSummary("Delete a finished job and its work folder (its result model stays)")
            .WithProblems(404, 409);
        group.MapGet("/{id:guid}/stream", Stream).WithName("StreamJob").WithProblems(400, 404)
            .WithSummary("Server-Sent Events: status, progress, metric points, events; resumes after Last-Event-ID; ends when the job ends")
            .WithDescription("Events: `status` (the whole job; first and on every change), `progress` ({status, step, total_steps, epoch}), " +
                "`metric` (a metric point), `event` (an event-log entry), `end` ({status}; the stream then closes). Each `id` is " +
                "`<metric>.<event>`; reconnect with it as `Last-Event-ID` (or `?last_event_id=`) to continue after it.");
        group.MapPost("/{id:guid}/cancel", Cancel).WithName("CancelJob").WithSummary("Cooperative cancel: the job stops within seconds")
            .WithProblems(404, 409);
        group.MapPost("/{id:guid}/pause", Pause).WithName("PauseJob").WithProblems(404, 409)
            .WithSummary("Pause: the job checkpoints after the step it is in and frees its device (status pausing, then paused)")
            .WithDescription("A queued job is paused at once. A paused job keeps its checkpoints and counts towards no device; resume continues it.");
        group.MapPost("/{id:guid}/resume", Resume).WithName("ResumeJob").WithProblems(404, 409)
            .WithSummary("Resume a paused job: queued again, it continues from its pause checkpoint exactly as an uninterrupted run");
        return group;
    }

    static async Task<Accepted<JobResponse>> Create(HttpRequest request, Caller caller, AppDbContext db, ArtifactStore store,
        IOptions<ModelBudget> budget, IOptions<JobOptions> limits, IOptions<WebhookOptions> webhooks, IBackgroundJobClient jobs, TimeProvider clock,
        ILogger<Job> logger, CancellationToken cancellationToken)
    {
        var body = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync(cancellationToken);
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > MaxIdempotencyKeyLength) throw new RequestValidationException("Idempotency-Key", $"at most {MaxIdempotencyKeyLength} characters");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        if (key.Length > 0 && await Replay(db, caller.TenantId, key, hash, cancellationToken) is { } replay) return replay;

        var spec = JobSpec.Parse(body).WithDefaults(limits.Value);
        var hyperparameters = await spec.ValidateAsync(db, store, budget.Value, limits.Value, webhooks.Value, cancellationToken);
        await Quotas.EnsureJobAllowedAsync(db, caller.TenantId, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var job = new Job
        {
            Id = Guid.NewGuid(),
            Type = spec.Type!,
            Task = spec.Task!,
            Status = JobStatus.Queued,
            TrainDatasetId = spec.TrainDatasetId!.Value,
            ValidationDatasetId = spec.ValidationDatasetId,
            BaseModelId = spec.BaseModelId,
            Spec = spec.ToJson(),
            Hyperparameters = hyperparameters.ToJsonString(),
            CreatedAt = now,
        };
        db.Jobs.Add(job);
        db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "info", Message = $"Job accepted and queued; created by {caller}." });
        if (key.Length > 0) db.IdempotencyKeys.Add(new IdempotencyKey { TenantId = caller.TenantId, Key = key, RequestHash = hash, JobId = job.Id, CreatedAt = now });
        try { await db.SaveChangesAsync(cancellationToken); }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            // A concurrent retry with the same key won the insert.
            if (key.Length > 0 && await Replay(db, caller.TenantId, key, hash, cancellationToken) is { } earlier) return earlier;
            // A dataset or model deleted since validation (the foreign key refused the job): the same check names it now.
            await spec.ValidateAsync(db, store, budget.Value, limits.Value, webhooks.Value, cancellationToken);
            throw new ConflictException(key.Length > 0 ? "Idempotency-Key is being used by another request." : "The job could not be stored; try again.");
        }
        // A crash between the insert and this enqueue leaves a queued job without a Hangfire job: recovery enqueues it.
        job.HangfireJobId = jobs.Enqueue<TrainingJob>(j => j.RunAsync(job.Id, CancellationToken.None));
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Job {JobId} created by {Caller}", job.Id, caller.ToString());
        return TypedResults.Accepted($"/jobs/{job.Id}", JobResponse.From(job));
    }

    static async Task<Accepted<JobResponse>?> Replay(AppDbContext db, Guid tenantId, string key, string hash, CancellationToken cancellationToken)
    {
        var existing = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.TenantId == tenantId && k.Key == key, cancellationToken);
        if (existing is null) return null;
        if (existing.RequestHash != hash) throw new ConflictException("Idempotency-Key was already used with a different request body.");
        var job = await Find(db, existing.JobId, cancellationToken);
        return TypedResults.Accepted($"/jobs/{job.Id}", JobResponse.From(job));
    }

    static async Task<Ok<PagedList<JobResponse>>> List(AppDbContext db, CancellationToken cancellationToken,
        string? status = null, string? type = null, int page = 1, [FromQuery(Name = "page_size")] int pageSize = 20)
    {
        JobStatus? wanted = null;
        if (status is not null)
        {
            wanted = Enum.TryParse<JobStatus>(status, ignoreCase: true, out var parsed) && !int.TryParse(status, out _) ? parsed
                : throw new RequestValidationException("status", $"'{status}' is not a job status; use one of {string.Join(", ", Enum.GetNames<JobStatus>().Select(n => n.ToLowerInvariant()))}");
        }

        var query = db.Jobs.AsNoTracking();
        if (wanted is { } s) query = query.Where(j => j.Status == s);
        if (type is not null) query = query.Where(j => j.Type == type);
        return TypedResults.Ok(await Paging.ReadAsync(query.OrderByDescending(j => j.CreatedAt).ThenBy(j => j.Id), page, pageSize, JobResponse.From, cancellationToken));
    }

    static async Task<Ok<JobResponse>> Get(Guid id, AppDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(JobResponse.From(await Find(db, id, cancellationToken)));

    static async Task<Ok<PagedList<MetricPointResponse>>> Metrics(Guid id, AppDbContext db, CancellationToken cancellationToken,
        [FromQuery(Name = "since_step")] int? sinceStep = null, string? name = null,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.MaxPageSize)
    {
        await Find(db, id, cancellationToken);
        var query = db.MetricPoints.AsNoTracking().Where(p => p.JobId == id);
        if (sinceStep is { } since) query = query.Where(p => p.Step > since);
        if (name is not null) query = query.Where(p => p.Name == name);
        return TypedResults.Ok(await Paging.ReadAsync(query.OrderBy(p => p.Step).ThenBy(p => p.Id), page, pageSize,
            MetricPointResponse.From, cancellationToken));
    }

    static async Task<Ok<PagedList<JobEventResponse>>> Events(Guid id, AppDbContext db, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize)
    {
        await Find(db, id, cancellationToken);
        return TypedResults.Ok(await Paging.ReadAsync(db.JobEvents.AsNoTracking().Where(e => e.JobId == id).OrderBy(e => e.Id), page, pageSize,
            JobEventResponse.From, cancellationToken));
    }

    static async Task<Ok<PagedList<CheckpointResponse>>> Checkpoints(Guid id, AppDbContext db, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize)
    {
        await Find(db, id, cancellationToken);
        return TypedResults.Ok(await Paging.ReadAsync(db.Checkpoints.AsNoTracking().Where(c => c.JobId == id).OrderBy(c => c.Step), page, pageSize,
            c => new CheckpointResponse(c.Step, c.Metrics, c.CreatedAt), cancellationToken));
    }

    /// <summary>Deletes a finished job: its row (metrics, events, checkpoints with it) and its work folder. Its result
    /// model stays in the registry. A job that has not finished is a 409: cancel it first.</summary>
    static async Task<NoContent> Delete(Guid id, AppDbContext db, ArtifactStore store, CancellationToken cancellationToken)
    {
        var job = await Find(db, id, cancellationToken);
        await db.IdempotencyKeys.Where(k => k.JobId == id && db.Jobs.Any(j => j.Id == id && JobStatusGroups.Finished.Contains(j.Status)))
            .ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.Jobs.Where(j => j.Id == id && JobStatusGroups.Finished.Contains(j.Status)).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            if (await db.Jobs.AnyAsync(j => j.Id == id, cancellationToken))
                throw new ConflictException($"Job {id} is {job.Status.ToString().ToLowerInvariant()}; only a finished job can be deleted (cancel it first).");
            throw new NotFoundException("job", id);
        }
        store.DeleteFolder(ArtifactStore.JobFolder(id));
        return TypedResults.NoContent();
    }

    // (Plain comments on handlers: Swashbuckle would take an XML summary for the operation's.)
    // The browser's EventSource sends Last-Event-ID when it reconnects; last_event_id lets a fresh connection start after a known point too.
    static async Task<ServerSentEventsResult<object>> Stream(Guid id, HttpRequest request, AppDbContext db, IServiceScopeFactory scopes,
        IOptions<JobOptions> options, CancellationToken cancellationToken, [FromQuery(Name = "last_event_id")] string? lastEventId = null)
    {
        var header = request.Headers["Last-Event-ID"].ToString();
        var cursor = header.Length > 0 ? StreamCursor.Parse(header, "Last-Event-ID") : StreamCursor.Parse(lastEventId, "last_event_id");
        await Find(db, id, cancellationToken);
        return TypedResults.ServerSentEvents(JobStream.ReadAsync(id, cursor, scopes, TimeSpan.FromSeconds(options.Value.StreamPollSeconds), cancellationToken));
    }

    // A queued job is cancelled at once; a running one is flagged, and its worker stops it at the next heartbeat.
    static async Task<Accepted<JobResponse>> Cancel(Guid id, Caller caller, AppDbContext db, WebhookNotifier webhooks, TimeProvider clock,
        ILogger<Job> logger, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var paused = await db.Jobs.AnyAsync(j => j.Id == id && j.Status == JobStatus.Paused, cancellationToken);
        var queued = await db.Jobs.Where(j => j.Id == id && (j.Status == JobStatus.Queued || j.Status == JobStatus.Paused) && j.LeaseOwner == null)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, JobStatus.Cancelled).SetProperty(j => j.FinishedAt, now), cancellationToken);
        var running = queued == 1 ? 0 : await db.Jobs.Where(j => j.Id == id && (j.Status == JobStatus.Running || j.Status == JobStatus.Pausing))
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, JobStatus.Cancelling).SetProperty(j => j.CancelRequested, true), cancellationToken);
        var job = await Find(db, id, cancellationToken);
        if (queued + running == 0 && job.Status != JobStatus.Cancelling)
            throw new ConflictException($"Job {id} is {Name(job.Status)}; only queued, running or paused jobs can be cancelled.");
        if (queued + running == 1)
        {
            var what = queued == 0 ? "Cancel requested" : paused ? "Cancelled while paused" : "Cancelled before it started";
            db.JobEvents.Add(new JobEvent { JobId = id, CreatedAt = now, Level = "info", Message = $"{what}; by {caller}." });
            await db.SaveChangesAsync(cancellationToken);
            logger.LogInformation("Job {JobId} cancelled by {Caller}", id, caller.ToString());
            if (queued == 1) webhooks.Notify(id, "job.cancelled");
        }
        return TypedResults.Accepted($"/jobs/{id}", JobResponse.From(job));
    }

    // A queued job is paused at once; a running one is marked pausing, and its worker checkpoints and lets go at the next heartbeat.
    static async Task<Accepted<JobResponse>> Pause(Guid id, Caller caller, AppDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var queued = await db.Jobs.Where(j => j.Id == id && j.Status == JobStatus.Queued && j.LeaseOwner == null)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, JobStatus.Paused), cancellationToken);
        var running = queued == 1 ? 0 : await db.Jobs.Where(j => j.Id == id && j.Status == JobStatus.Running)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, JobStatus.Pausing), cancellationToken);
        var job = await Find(db, id, cancellationToken);
        if (queued + running == 0 && job.Status is not (JobStatus.Pausing or JobStatus.Paused))
            throw new ConflictException($"Job {id} is {Name(job.Status)}; only queued or running jobs can be paused.");
        if (queued + running == 1)
        {
            db.JobEvents.Add(new JobEvent
            {
                JobId = id, CreatedAt = clock.GetUtcNow().UtcDateTime, Level = "info",
                Message = (queued == 1 ? "Paused before it started" : "Pause requested") + $"; by {caller}."
            });
            await db.SaveChangesAsync(cancellationToken);
        }
        return TypedResults.Accepted($"/jobs/{id}", JobResponse.From(job));
    }

    static async Task<Accepted<JobResponse>> Resume(Guid id, Caller caller, AppDbContext db, IBackgroundJobClient jobs, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var resumed = await db.Jobs.Where(j => j.Id == id && j.Status == JobStatus.Paused && j.LeaseOwner == null)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.Status, JobStatus.Queued), cancellationToken);
        var job = await Find(db, id, cancellationToken);
        if (resumed == 0)
        {
            throw new ConflictException($"Job {id} is {Name(job.Status)}; only a paused job can be resumed" +
                (job.Status == JobStatus.Pausing ? " (it is still writing its checkpoint)." : "."));
        }
        // Queued again under a fresh Hangfire job; the training core picks up the newest checkpoint by itself.
        var hangfireId = jobs.Enqueue<TrainingJob>(t => t.RunAsync(id, CancellationToken.None));
        await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(set => set.SetProperty(j => j.HangfireJobId, hangfireId), cancellationToken);
        db.JobEvents.Add(new JobEvent { JobId = id, CreatedAt = clock.GetUtcNow().UtcDateTime, Level = "info", Message = $"Resumed; queued again; by {caller}." });
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Accepted($"/jobs/{id}", JobResponse.From(await Find(db, id, cancellationToken)));
    }

    static string Name(JobStatus status) => status.ToString().ToLowerInvariant();

    static async Task<Job> Find(AppDbContext db, Guid id, CancellationToken cancellationToken) =>
        await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken) ?? throw new NotFoundException("job", id);
}
