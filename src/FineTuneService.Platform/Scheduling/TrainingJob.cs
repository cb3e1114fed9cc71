using System.Diagnostics;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Registry;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The Hangfire job that runs one training job. Its argument is the job id; it is re-entrant: it takes the
/// job row's lease or does nothing, and the training core resumes from the newest checkpoint by itself. Hangfire never
/// retries it: the service owns retry (recovery re-enqueues jobs whose worker died) and resume.</summary>
public sealed class TrainingJob(
    IServiceScopeFactory scopes, ArtifactStore store, IStorageBudget storage, DevicePool devices, IBackgroundJobClient jobs, IOptions<JobOptions> options,
    IOptions<ModelBudget> budget, WebhookNotifier webhooks, TimeProvider clock, ILogger<TrainingJob> logger)
{
    public const string Queue = "training";

    [Queue(Queue), AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(Guid jobId, CancellationToken cancellationToken)
    {
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId });
        var lease = new JobLease(scopes, jobId, TimeSpan.FromSeconds(options.Value.LeaseSeconds), clock);
        var acquired = await lease.TryAcquireAsync(cancellationToken);
        if (acquired == JobLease.Acquired.OverQuota)
        {
            await RetryLaterAsync(jobId);
            return;
        }
        if (acquired == JobLease.Acquired.Unavailable)
        {
            logger.LogInformation("Job {JobId} is finished, cancelled or held by another worker; nothing to do", jobId);
            return;
        }

        // Beat from the moment the lease is taken: loading the job must not let it expire.
        using var deadline = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var heartbeat = new Heartbeat(lease, TimeSpan.FromSeconds(options.Value.HeartbeatSeconds), TimeSpan.FromSeconds(options.Value.LeaseSeconds), clock, logger);
        var beating = heartbeat.RunAsync(stop);
        using var device = devices.Take();
        var ended = false; // in a final state by this run: its work folder goes
        JobSpec? spec = null;
        var limit = TimeSpan.FromSeconds(options.Value.MaxJobSeconds);
        try
        {
            var (job, request) = await LoadAsync(jobId, device.Name, stop.Token);
            spec = JobSpec.FromJson(job.Spec);
            if (job.Deaths >= options.Value.MaxAttempts)
            {
                // Hangfire delivered again a job whose workers keep dying: it ends here instead of taking this one down too.
                ended = await FailAsync(lease, jobId, JobErrors.Poisoned(job.Deaths, job.Step, options.Value.MaxAttempts));
                logger.LogError("Job {JobId} failed: its worker died {Deaths} times", jobId, job.Deaths);
                return;
            }
            // The wall-clock limit counts from the job's first start, across attempts.
            deadline.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (limit - (clock.GetUtcNow().UtcDateTime - (job.StartedAt ?? clock.GetUtcNow().UtcDateTime))).Ticks)));
            logger.LogInformation("Job {JobId} attempt {Attempt} starts on {Device} as {Owner}", jobId, job.Attempt, request.Device, lease.Owner);
            Event(jobId, "info", job.Attempt == 1 ? $"Started on {request.Device}." : $"Attempt {job.Attempt} started on {request.Device}; resuming from the newest checkpoint.");
            var observer = new DbTrainingObserver(scopes, store, storage, lease, jobId, job.Attempt, webhooks, clock, heartbeat.Lose);
            // A dedicated thread: training blocks for minutes to hours, the thread pool is for the heartbeat.
            var result = await Task.Factory.StartNew(() => TrainingJobRunner.Run(request, observer, stop.Token, heartbeat.Pause.Token),
                stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            ended = await FinishAsync(job, lease, result);
        }
        catch (TrainingPausedException e)
        {
            // The device is free once this returns; resume queues the job again and it continues from this checkpoint.
            await Update(db => lease.Held(db.Jobs).ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, JobStatus.Paused).SetProperty(j => j.Step, e.Step)
                .SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null)));
            Event(jobId, "info", $"Paused at step {e.Step}; resume continues from checkpoint-{e.Step}.");
            logger.LogInformation("Job {JobId} paused at step {Step}", jobId, e.Step);
        }
        catch (OperationCanceledException) when (heartbeat.CancelRequested)
        {
            ended = await EndAsync(lease, JobStatus.Cancelled, null);
            if (ended)
            {
                Event(jobId, "info", "Cancelled.");
                webhooks.Notify(jobId, "job.cancelled");
            }
            logger.LogInformation("Job {JobId} cancelled", jobId);
        }
        catch (OperationCanceledException) when (heartbeat.LeaseLost)
        {
            logger.LogWarning("Job {JobId} stopped: its lease was lost to another worker", jobId);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            ended = await FailAsync(lease, jobId, $"Stopped after running {limit.TotalSeconds:0} s, the limit of a job (Jobs:MaxJobSeconds).");
            logger.LogWarning("Job {JobId} failed: wall-clock limit", jobId);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await lease.ReleaseAsync();
            Event(jobId, "warning", "The worker is shutting down; the job resumes from its newest checkpoint on the next worker.");
            logger.LogInformation("Job {JobId} released at shutdown", jobId);
        }
        catch (Exception e)
        {
            // Memory failures (OutOfMemoryException, libtorch's allocator) end up here too: they fail the job, not the process.
            var traceId = Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
            logger.LogError(e, "Job {JobId} failed; trace id {TraceId}", jobId, traceId);
            if (JobErrors.IsOutOfMemory(e)) GC.Collect();
            ended = await FailAsync(lease, jobId, JobErrors.ForUser(e, traceId));
        }
        finally
        {
            await stop.CancelAsync();
            await beating;
            if (ended) JobFolders.Clean(store, jobId, spec?.KeepCheckpoints == true, logger);
        }
    }

    /// <summary>The job waits in the queue for its tenant's running jobs: it is tried again after a recovery interval.</summary>
    async Task RetryLaterAsync(Guid jobId)
    {
        const string waiting = "Waiting: the tenant already runs its max_running_jobs.";
        var retry = jobs.Schedule<TrainingJob>(j => j.RunAsync(jobId, CancellationToken.None), TimeSpan.FromSeconds(options.Value.RecoverySeconds));
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await db.Jobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(set => set.SetProperty(j => j.HangfireJobId, retry));
        if (await db.JobEvents.Where(e => e.JobId == jobId).OrderByDescending(e => e.Id).Select(e => e.Message).FirstOrDefaultAsync() != waiting)
            Event(jobId, "info", waiting);
        logger.LogInformation("Job {JobId} waits for its tenant's running jobs", jobId);
    }

    async Task<(Job Job, TrainingJobRequest Request)> LoadAsync(Guid jobId, string device, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var job = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId, cancellationToken);
        var train = await db.Datasets.AsNoTracking().SingleAsync(d => d.Id == job.TrainDatasetId, cancellationToken);
        var validation = job.ValidationDatasetId is { } v ? await db.Datasets.AsNoTracking().SingleAsync(d => d.Id == v, cancellationToken) : null;
        var baseModel = job.BaseModelId is { } m ? await db.Models.AsNoTracking().SingleAsync(x => x.Id == m, cancellationToken) : null;
        return (job, JobSpec.FromJson(job.Spec).ToRequest(jobId, train, validation, baseModel, store, device, budget.Value));
    }

    /// <summary>Registers the result model (lineage: this job, its base model) and marks the job succeeded.</summary>
    async Task<bool> FinishAsync(Job job, JobLease lease, TrainingJobResult result)
    {
        var modelId = Guid.NewGuid();
        var folder = ArtifactStore.ModelFolder(modelId);
        store.Promote(result.ModelDir, folder);
        var spec = JobSpec.FromJson(job.Spec);
        var model = ModelFiles.Describe(store, modelId, folder, spec.Name ?? $"{job.Task} from job {job.Id}", job.Id, job.BaseModelId, clock);
        var registered = false;
        try
        {
            await Transient.RetryAsync(async () => registered = await RegisterAsync(job, lease, model));
        }
        finally
        {
            // Not registered (the lease was lost, or the database stayed down): the promoted folder would be an orphan.
            if (!registered) store.DeleteFolder(folder);
        }
        if (registered)
        {
            Event(job.Id, "info", $"Succeeded; result model {modelId}. " + string.Join(", ", result.FinalMetrics.Select(m => $"{m.Key}={m.Value:G4}")));
            webhooks.Notify(job.Id, "job.succeeded");
            logger.LogInformation("Job {JobId} succeeded; model {ModelId}", job.Id, modelId);
        }
        return registered;
    }

    async Task<bool> RegisterAsync(Job job, JobLease lease, Model model)
    {
        var modelId = model.Id;
        model.TenantId = job.TenantId;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        db.Models.Add(model);
        await db.SaveChangesAsync();
        var now = clock.GetUtcNow().UtcDateTime;
        var updated = await lease.Held(db.Jobs).ExecuteUpdateAsync(set => set
            .SetProperty(j => j.Status, JobStatus.Succeeded).SetProperty(j => j.ResultModelId, modelId)
            .SetProperty(j => j.Step, j => j.TotalSteps).SetProperty(j => j.FinishedAt, now)
            .SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null));
        if (updated == 0)
        {
            logger.LogWarning("Job {JobId} finished after its lease was lost; its result is discarded", job.Id);
            return false;
        }
        await transaction.CommitAsync();
        return true;
    }

    /// <summary>Ends the job as failed with <paramref name="reason"/>, and tells its event log and its webhooks; false when
    /// this worker no longer holds the job (another runs it: nothing is told, and its work folder stays).</summary>
    async Task<bool> FailAsync(JobLease lease, Guid jobId, string reason)
    {
        if (!await EndAsync(lease, JobStatus.Failed, reason)) return false;
        Event(jobId, "error", "Failed: " + reason);
        webhooks.Notify(jobId, "job.failed");
        return true;
    }

    /// <summary>Puts the job in a final state while this worker holds it; false when another worker took it meanwhile.</summary>
    async Task<bool> EndAsync(JobLease lease, JobStatus status, string? error)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var ended = 0;
        await Transient.RetryAsync(async () =>
        {
            await using var scope = scopes.CreateAsyncScope();
            ended = await lease.Held(scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs).ExecuteUpdateAsync(set => set
                .SetProperty(j => j.Status, status).SetProperty(j => j.Error, error).SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.LeaseOwner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null));
        });
        return ended == 1;
    }

    async Task Update(Func<AppDbContext, Task<int>> update)
    {
        await using var scope = scopes.CreateAsyncScope();
        await update(scope.ServiceProvider.GetRequiredService<AppDbContext>());
    }

    void Event(Guid jobId, string level, string message) => JobEvents.Add(scopes, clock, jobId, level, message);

    /// <summary>Renews the lease and watches for a cancel request; stops the training when either says so.
    /// A database outage longer than the lease counts as a lost lease, since another worker may take the job.</summary>
    sealed class Heartbeat(JobLease lease, TimeSpan interval, TimeSpan ttl, TimeProvider clock, ILogger logger)
    {
        public bool CancelRequested { get; private set; }
        public bool LeaseLost { get; private set; }
        /// <summary>A write found the lease taken before the next beat did: the observer stops the training itself.</summary>
        public void Lose() => LeaseLost = true;
        /// <summary>Set on a pause request: the trainer checkpoints after the step it is in and stops.</summary>
        public CancellationTokenSource Pause { get; } = new();

        public async Task RunAsync(CancellationTokenSource training)
        {
            var renewed = clock.GetUtcNow();
            using var timer = new PeriodicTimer(interval, clock);
            try
            {
                while (await timer.WaitForNextTickAsync(training.Token))
                {
                    try
                    {
                        if (!await lease.RenewAsync(training.Token))
                        {
                            LeaseLost = true;
                        }
                        else
                        {
                            renewed = clock.GetUtcNow();
                            var (cancel, pause) = await lease.RequestsAsync(training.Token);
                            CancelRequested = cancel;
                            if (pause && !Pause.IsCancellationRequested) await Pause.CancelAsync();
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogWarning(e, "Lease renewal failed");
                        LeaseLost = clock.GetUtcNow() - renewed > ttl;
                    }
                    if (CancelRequested || LeaseLost)
                    {
                        await training.CancelAsync();
                        return;
                    }
                }
            }
            catch (OperationCanceledException) { }
        }
    }
}
