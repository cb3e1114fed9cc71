using FineTuneService.Platform.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The lease on a job row: one atomic UPDATE takes it (only when free or expired), the heartbeat renews it,
/// and what the running worker writes while training (status, progress, metrics, checkpoints, events) is conditioned
/// on still holding it; only the events that say how an attempt ended (or why it waits) come after it lets go. So a job
/// never runs twice at once, whatever Hangfire delivers.</summary>
sealed class JobLease(IServiceScopeFactory scopes, Guid jobId, TimeSpan ttl, TimeProvider clock)
{
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    public enum Acquired { Taken, Unavailable, OverQuota }

    /// <summary>Takes a queued or running job whose lease is free; marks it running and counts the attempt, and the death
    /// of the worker whose lease expired. A queued job whose tenant already runs its <c>max_running_jobs</c> is
    /// <see cref="Acquired.OverQuota"/>: starts of one tenant's jobs take turns on its row, so two workers cannot both
    /// pass the count.</summary>
    public async Task<Acquired> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        var expires = now + ttl;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // First a no-op update of a queued job's tenant: its row lock (PostgreSQL), or the write lock (SQLite), until the
        // transaction ends. A write first, so SQLite never has to upgrade a read.
        var tenants = db.Tenants.Where(t => db.Jobs.Any(j => j.Id == jobId && j.Status == JobStatus.Queued && j.TenantId == t.Id));
        if (await tenants.ExecuteUpdateAsync(set => set.SetProperty(t => t.Name, t => t.Name), cancellationToken) == 1)
        {
            var tenant = await tenants.Select(t => new { t.Id, t.MaxRunningJobs }).SingleAsync(cancellationToken);
            if (tenant.MaxRunningJobs is { } limit && await db.Jobs.CountAsync(j => j.TenantId == tenant.Id
                    && (j.Status == JobStatus.Running || j.Status == JobStatus.Cancelling || j.Status == JobStatus.Pausing), cancellationToken) >= limit)
            {
                return Acquired.OverQuota;
            }
        }
        var taken = await db.Jobs
            .Where(j => j.Id == jobId && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running)
                && (j.LeaseOwner == null || j.LeaseExpiresAt < now))
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.LeaseOwner, Owner)
                .SetProperty(j => j.LeaseExpiresAt, expires)
                .SetProperty(j => j.Status, JobStatus.Running)
                .SetProperty(j => j.Attempt, j => j.Attempt + 1)
                // Taking over an expired lease that nobody released: its worker died (counted once, as recovery counts it).
                .SetProperty(j => j.Deaths, j => j.LeaseOwner == null ? j.Deaths : j.Deaths + 1)
                .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return taken == 1 ? Acquired.Taken : Acquired.Unavailable;
    }

    /// <summary>Extends the lease; false when another worker has it (this one was taken for dead).</summary>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        var expires = Now + ttl;
        return await UpdateAsync(jobs => Held(jobs)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.LeaseExpiresAt, expires), cancellationToken)) == 1;
    }

    /// <summary>What the API asked of the running job: a cancel (the flag) or a pause (status pausing).</summary>
    public async Task<(bool Cancel, bool Pause)> RequestsAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var row = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs.Where(j => j.Id == jobId)
            .Select(j => new { j.CancelRequested, j.Status }).FirstOrDefaultAsync(cancellationToken);
        return (row?.CancelRequested == true, row?.Status == JobStatus.Pausing);
    }

    /// <summary>Lets go without finishing: another worker may resume the job.</summary>
    public Task ReleaseAsync() => UpdateAsync(jobs => Held(jobs).ExecuteUpdateAsync(set => set
        .SetProperty(j => j.LeaseOwner, (string?)null)
        .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null)));

    /// <summary>The job's row while this worker holds the lease: the only rows its writes may touch.</summary>
    public IQueryable<Job> Held(IQueryable<Job> jobs) => jobs.Where(j => j.Id == jobId && j.LeaseOwner == Owner);

    DateTime Now => clock.GetUtcNow().UtcDateTime;

    async Task<int> UpdateAsync(Func<DbSet<Job>, Task<int>> update)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await update(scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs);
    }
}
