using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Platform.Tenants;

/// <summary>A tenant's quotas, checked before work starts: storage (datasets + models + checkpoints) answers 403
/// <c>storage_quota_exceeded</c>, a full queue 429 <c>queued_jobs_quota_exceeded</c>.</summary>
public static class Quotas
{
    static readonly JobStatus[] Running = [JobStatus.Running, JobStatus.Cancelling, JobStatus.Pausing];

    public static async Task<TenantUsage> UsageAsync(AppDbContext db, Guid tenantId, CancellationToken cancellationToken)
    {
        var datasets = await db.Datasets.IgnoreQueryFilters().Where(d => d.TenantId == tenantId).SumAsync(d => d.SizeBytes, cancellationToken);
        var models = await db.Models.IgnoreQueryFilters().Where(m => m.TenantId == tenantId).SumAsync(m => m.SizeBytes, cancellationToken);
        var checkpoints = await db.Checkpoints.IgnoreQueryFilters().Where(c => c.Job!.TenantId == tenantId).SumAsync(c => c.SizeBytes, cancellationToken);
        var jobs = db.Jobs.IgnoreQueryFilters().Where(j => j.TenantId == tenantId);
        return new TenantUsage(datasets + models + checkpoints,
            await jobs.CountAsync(j => Running.Contains(j.Status), cancellationToken),
            await jobs.CountAsync(j => j.Status == JobStatus.Queued, cancellationToken));
    }

    /// <summary>Reads a multipart upload under the smaller of the configured limit and the tenant's storage left; past
    /// the quota it is 403 <c>storage_quota_exceeded</c> (not 413), before or while the body streams.</summary>
    public static async Task<UploadedForm> ReadUploadAsync(HttpRequest request, AppDbContext db, Guid tenantId, string folder,
        string fileField, long limitBytes, CancellationToken cancellationToken)
    {
        var (tenant, left) = await StorageLeftAsync(db, tenantId, cancellationToken);
        try { return await MultipartUpload.ReadAsync(request, folder, fileField, Math.Min(limitBytes, left), cancellationToken); }
        catch (PayloadTooLargeException) when (left < limitBytes) { throw StorageExceeded(tenant); }
    }

    /// <summary>Refuses <paramref name="bytes"/> more (e.g. an imported archive's unpacked size) past the tenant's quota.</summary>
    public static async Task EnsureStorageAsync(AppDbContext db, Guid tenantId, long bytes, CancellationToken cancellationToken)
    {
        var (tenant, left) = await StorageLeftAsync(db, tenantId, cancellationToken);
        if (bytes > left) throw StorageExceeded(tenant);
    }

    /// <summary>A new job: refused while the tenant's queue is full, or its storage (where the job's checkpoints and
    /// model go) is used up.</summary>
    public static async Task EnsureJobAllowedAsync(AppDbContext db, Guid tenantId, CancellationToken cancellationToken)
    {
        var (tenant, _) = await StorageLeftAsync(db, tenantId, cancellationToken);
        if (tenant.MaxQueuedJobs is { } max && (await UsageAsync(db, tenantId, cancellationToken)).QueuedJobs >= max)
        {
            throw new ProblemException(ProblemCodes.QueuedJobsQuotaExceeded, $"Tenant {tenant.Name} may have {max} jobs queued; wait for one to start, or cancel one.");
        }
    }

    /// <summary>The bytes the tenant may still store (long.MaxValue without a quota); refuses when nothing is left.</summary>
    static async Task<(Tenant Tenant, long Left)> StorageLeftAsync(AppDbContext db, Guid tenantId, CancellationToken cancellationToken)
    {
        var tenant = await db.Tenants.AsNoTracking().SingleAsync(t => t.Id == tenantId, cancellationToken);
        if (tenant.MaxStorageBytes is not { } max) return (tenant, long.MaxValue);
        var left = max - (await UsageAsync(db, tenantId, cancellationToken)).StorageBytes;
        return left > 0 ? (tenant, left) : throw StorageExceeded(tenant);
    }

    static ProblemException StorageExceeded(Tenant tenant) => new(ProblemCodes.StorageQuotaExceeded,
        $"Tenant {tenant.Name} may store {tenant.MaxStorageBytes} bytes of datasets, models and checkpoints; delete something first.");
}
