using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Trainer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Writes what the training core reports to the job's rows, only while this worker holds the lease: each
/// write checks it first. A progress, metric or checkpoint write that finds the lease taken stops the training at once
/// (<paramref name="leaseLost"/>); an event is dropped. So a worker taken for dead neither adds rows nor writes a
/// checkpoint that the attempt replacing it would resume from past the metrics it has. Called on the training thread;
/// each call is one short unit of work on its own context.</summary>
sealed class DbTrainingObserver(IServiceScopeFactory scopes, ArtifactStore store, IStorageBudget storage, JobLease lease, Guid jobId, int attempt,
    WebhookNotifier webhooks, TimeProvider clock, Action leaseLost) : ITrainingObserver
{
    static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);
    DateTime lastProgress = DateTime.MinValue;
    bool supersededCleared;

    public void Progress(int step, int totalSteps, double epoch)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (step < totalSteps && now - lastProgress < ProgressInterval) return;
        lastProgress = now;
        Transient.Retry(() =>
        {
            using var scope = scopes.CreateScope();
            var updated = lease.Held(scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs).ExecuteUpdate(set => set
                .SetProperty(j => j.Step, step).SetProperty(j => j.TotalSteps, totalSteps).SetProperty(j => j.Epoch, epoch));
            if (updated == 0) Lost();
        });
    }

    public void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values) =>
        Transient.Retry(() => WriteMetrics(step, epoch, split, values));

    void WriteMetrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        if (!Holding(db)) Lost();
        if (!supersededCleared)
        {
            // A resumed run redoes the steps after its checkpoint: the earlier attempt's points for them are replaced.
            db.MetricPoints.Where(p => p.JobId == jobId && p.Step >= step && p.Attempt < attempt).ExecuteDelete();
            supersededCleared = true;
        }
        db.MetricPoints.AddRange(values.Select(v => new MetricPoint
        {
            JobId = jobId, Step = step, Epoch = epoch, Name = v.Key, Value = v.Value, Split = split, Attempt = attempt,
        }));
        db.SaveChanges();
    }

    /// <summary>A checkpoint that does not fit the storage budget is not begun: the job fails, its previous checkpoint intact.</summary>
    public void BeforeCheckpoint(int step, long bytes)
    {
        Transient.Retry(() =>
        {
            using var scope = scopes.CreateScope();
            if (!Holding(scope.ServiceProvider.GetRequiredService<AppDbContext>())) Lost();
        });
        if (storage.Refuse(jobId, bytes) is { } reason) throw new InsufficientStorageException($"No room for the checkpoint at step {step}: {reason}.");
    }

    public void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics)
    {
        Transient.Retry(() => WriteCheckpoint(step, path, metrics));
        Event($"Checkpoint saved at step {step}.");
        webhooks.Notify(jobId, "job.checkpoint");
    }

    void WriteCheckpoint(int step, string path, IReadOnlyDictionary<string, double> metrics)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        if (!Holding(db)) Lost();
        // Checkpoints the trainer rotated away (save_total_limit) or that this step replaces leave the list.
        var gone = db.Checkpoints.Where(c => c.JobId == jobId).AsEnumerable()
            .Where(c => c.Step == step || !Directory.Exists(store.FullPath(c.Path))).ToList();
        db.Checkpoints.RemoveRange(gone);
        db.Checkpoints.Add(new Checkpoint { JobId = jobId, Step = step, Path = Path.GetRelativePath(store.Root, path), SizeBytes = ArtifactStore.FolderSize(path), Metrics = new(metrics), CreatedAt = clock.GetUtcNow().UtcDateTime });
        db.SaveChanges();
    }

    bool Holding(AppDbContext db) => lease.Held(db.Jobs).Any();

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    void Lost()
    {
        leaseLost();
        throw new OperationCanceledException("The job's lease was taken by another worker.");
    }

    // Events are shown to users: the core's messages may name files, never the server's paths.
    public void Event(string message) => JobEvents.Add(scopes, clock, jobId, "info", JobErrors.Scrub(message), lease);
}
