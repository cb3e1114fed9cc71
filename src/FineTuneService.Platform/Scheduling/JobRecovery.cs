using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Webhooks;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Runs on every worker: finds unfinished jobs that nobody holds and that Hangfire will not deliver by itself
/// (their worker was killed, or an embedded restart lost the in-memory queue) and enqueues them again; the job resumes
/// from its newest checkpoint, after a back-off that doubles with each death of its worker; at <c>Jobs:MaxAttempts</c>
/// deaths it fails instead (a job that kills every worker it runs on). A job cancelled while its worker died is marked cancelled.
/// Each pass (the first at the worker's start) also sweeps the work folders that nothing else would remove.</summary>
sealed class JobRecovery(
    IServiceScopeFactory scopes, JobStorage storage, IBackgroundJobClient jobs, ArtifactStore store, IOptions<JobOptions> options, WebhookNotifier webhooks,
    TimeProvider clock, ILogger<JobRecovery> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RecoverySeconds), clock);
        do
        {
            try { await RecoverAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning(e, "Job recovery pass failed"); }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    async Task RecoverAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await SweepAsync(db, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        // A job just posted may not have its Hangfire job id yet: give the Api a lease's time to enqueue it.
        var posted = now - TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        var orphans = await db.Jobs
            .Where(j => (j.Status == JobStatus.Running || j.Status == JobStatus.Cancelling || j.Status == JobStatus.Pausing || (j.Status == JobStatus.Queued && j.CreatedAt < posted))
                && (j.LeaseOwner == null || j.LeaseExpiresAt < now))
            .ToListAsync(cancellationToken);
        if (orphans.Count == 0) return;

        using var connection = storage.GetConnection();
        // Webhooks go out once the new status is committed: the sender reads the job as it then is.
        var ended = new List<(Guid Job, string Event)>();
        foreach (var job in orphans)
        {
            if (job.Status == JobStatus.Pausing)
            {
                // Its worker died before the pause checkpoint: paused at the newest checkpoint there is.
                job.Status = JobStatus.Paused;
                job.LeaseOwner = null;
                db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "warning", Message = "Paused (its worker had stopped); resume continues from the newest checkpoint." });
                continue;
            }
            if (job.Status == JobStatus.Cancelling)
            {
                job.Status = JobStatus.Cancelled;
                job.FinishedAt = now;
                job.LeaseOwner = null;
                db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "info", Message = "Cancelled (its worker had stopped)." });
                JobFolders.Clean(store, job.Id, JobSpec.FromJson(job.Spec).KeepCheckpoints == true, logger);
                ended.Add((job.Id, "job.cancelled"));
                continue;
            }
            var delay = TimeSpan.Zero;
            if (job.LeaseOwner is { } deadOwner)
            {
                // The worker died holding the lease. One atomic update counts the death, so two recovering workers count it once.
                var counted = await db.Jobs.Where(j => j.Id == job.Id && j.LeaseOwner == deadOwner && j.LeaseExpiresAt < now)
                    .ExecuteUpdateAsync(set => set.SetProperty(j => j.Deaths, j => j.Deaths + 1)
                        .SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null), cancellationToken);
                if (counted == 0) continue;
                var deaths = job.Deaths + 1;
                if (deaths >= options.Value.MaxAttempts)
                {
                    var reason = JobErrors.Poisoned(deaths, job.Step, options.Value.MaxAttempts);
                    await db.Jobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Running && j.LeaseOwner == null).ExecuteUpdateAsync(set => set
                        .SetProperty(j => j.Status, JobStatus.Failed).SetProperty(j => j.Error, reason).SetProperty(j => j.FinishedAt, now), cancellationToken);
                    db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "error", Message = "Failed: " + reason });
                    logger.LogError("Job {JobId} failed: its worker died {Deaths} times", job.Id, deaths);
                    JobFolders.Clean(store, job.Id, JobSpec.FromJson(job.Spec).KeepCheckpoints == true, logger);
                    ended.Add((job.Id, "job.failed"));
                    continue;
                }
                // Back-off: a job that kills its worker does not take the next one down at once.
                delay = TimeSpan.FromSeconds(options.Value.RetryBackoffSeconds * Math.Pow(2, deaths - 1));
            }
            var state = job.HangfireJobId is null ? null : connection.GetStateData(job.HangfireJobId);
            // Enqueued or scheduled (a back-off, or waiting for its tenant's running jobs): a worker will take it. Processing
            // a queued job: a worker is taking it right now — unless it began more than a lease ago without taking the lease
            // (its first act): that worker died in between, and Hangfire would not hand the job on for its invisibility timeout.
            var taking = state?.Name == ProcessingState.StateName && job.Status == JobStatus.Queued
                && (!state.Data.TryGetValue("StartedAt", out var started) || JobHelper.DeserializeNullableDateTime(started) is not { } since || since >= posted);
            if (state?.Name == EnqueuedState.StateName || state?.Name == ScheduledState.StateName || taking) continue;
            // Two workers may both enqueue the same orphan; the lease lets only one of them run it.
            var hangfireId = delay > TimeSpan.Zero
                ? jobs.Schedule<TrainingJob>(t => t.RunAsync(job.Id, CancellationToken.None), delay)
                : jobs.Enqueue<TrainingJob>(t => t.RunAsync(job.Id, CancellationToken.None));
            await db.Jobs.Where(j => j.Id == job.Id).ExecuteUpdateAsync(set => set.SetProperty(j => j.HangfireJobId, hangfireId), cancellationToken);
            var why = job.Status == JobStatus.Running ? "its worker stopped renewing the lease"
                : state?.Name == ProcessingState.StateName ? "the worker that took it stopped before starting it" : "it was not in the queue";
            var when = delay > TimeSpan.Zero ? $" It runs again in {delay.TotalSeconds:0.#} s." : "";
            db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "warning", Message = $"Enqueued again: {why}.{when}" });
            logger.LogWarning("Job {JobId} enqueued again: {Reason}; delay {Delay}", job.Id, why, delay);
        }
        await db.SaveChangesAsync(cancellationToken);
        foreach (var (jobId, type) in ended) webhooks.Notify(jobId, type);
    }

    /// <summary>Work folders of finished jobs (their worker died after recording the end, before removing the folder)
    /// and of jobs that no longer exist (the Api stopped between deleting a job and its folder) go as a finished job's
    /// does; a kept job's checkpoints stay (its folder is swept again each pass: nothing but them is left to remove).</summary>
    async Task SweepAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        var root = store.FullPath("jobs");
        if (!Directory.Exists(root)) return;
        var onDisk = Directory.EnumerateDirectories(root)
            .Select(d => Guid.TryParseExact(Path.GetFileName(d), "N", out var id) ? id : (Guid?)null).OfType<Guid>().ToList();
        if (onDisk.Count == 0) return;
        // Every tenant's jobs: a folder is removed only when no job of any tenant is using it.
        var jobs = await db.Jobs.IgnoreQueryFilters().Where(j => onDisk.Contains(j.Id)).Select(j => new { j.Id, j.Status, j.Spec }).ToDictionaryAsync(j => j.Id, cancellationToken);
        foreach (var id in onDisk)
        {
            if (!jobs.TryGetValue(id, out var job))
                JobFolders.Clean(store, id, keepCheckpoints: false, logger);
            else if (JobStatusGroups.Finished.Contains(job.Status))
                JobFolders.Clean(store, id, JobSpec.FromJson(job.Spec).KeepCheckpoints == true, logger);
        }
    }
}
