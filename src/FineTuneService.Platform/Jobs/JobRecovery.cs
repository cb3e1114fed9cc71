using FineTuneService.Platform.Data;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Jobs;

/// <summary>Runs on every worker: finds unfinished jobs that nobody holds and that Hangfire will not deliver by itself
/// (their worker was killed, or an embedded restart lost the in-memory queue) and enqueues them again; the job resumes
/// from its newest checkpoint. A job cancelled while its worker died is marked cancelled.</summary>
sealed class JobRecovery(
    IServiceScopeFactory scopes, JobStorage storage, IBackgroundJobClient jobs, IOptions<JobOptions> options,
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
        var now = clock.GetUtcNow().UtcDateTime;
        // A job just posted may not have its Hangfire job id yet: give the Api a lease's time to enqueue it.
        var posted = now - TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        var orphans = await db.Jobs
            .Where(j => (j.Status == JobStatus.Running || j.Status == JobStatus.Cancelling || (j.Status == JobStatus.Queued && j.CreatedAt < posted))
                && (j.LeaseOwner == null || j.LeaseExpiresAt < now))
            .ToListAsync(cancellationToken);
        if (orphans.Count == 0) return;

        using var connection = storage.GetConnection();
        foreach (var job in orphans)
        {
            if (job.Status == JobStatus.Cancelling)
            {
                job.Status = JobStatus.Cancelled;
                job.FinishedAt = now;
                job.LeaseOwner = null;
                db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "info", Message = "Cancelled (its worker had stopped)." });
                continue;
            }
            var state = job.HangfireJobId is null ? null : connection.GetJobData(job.HangfireJobId)?.State;
            // Enqueued: a worker will take it. Processing a queued job: a worker is taking it right now.
            if (state == EnqueuedState.StateName || (state == ProcessingState.StateName && job.Status == JobStatus.Queued)) continue;
            // Two workers may both enqueue the same orphan; the lease lets only one of them run it.
            job.HangfireJobId = jobs.Enqueue<TrainingJob>(t => t.RunAsync(job.Id, CancellationToken.None));
            var why = job.Status == JobStatus.Running ? "its worker stopped renewing the lease" : "it was not in the queue";
            db.JobEvents.Add(new JobEvent { JobId = job.Id, CreatedAt = now, Level = "warning", Message = $"Enqueued again: {why}." });
            logger.LogWarning("Job {JobId} enqueued again: {Reason}", job.Id, why);
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
