using System.Text.Json;
using FineTuneService.Platform.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace FineTuneService.Platform.Persistence;

/// <summary>The database. Tenancy lives here, in one place: every query on tenant data is filtered to the caller's tenant
/// (<see cref="TenantScope"/>; shared models are readable by all), and new rows are stamped with it.</summary>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options, TenantScope tenants) : DbContext(options)
{
    const string TenantFilterName = "tenant";

    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<Model> Models => Set<Model>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<MetricPoint> MetricPoints => Set<MetricPoint>();
    public DbSet<JobEvent> JobEvents => Set<JobEvent>();
    public DbSet<Checkpoint> Checkpoints => Set<Checkpoint>();
    public DbSet<IdempotencyKey> IdempotencyKeys => Set<IdempotencyKey>();
    public DbSet<Tenant> Tenants => Set<Tenant>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    /// <summary>Read by the query filters on every query: null sees every tenant (admins, background work).</summary>
    Guid? TenantFilter => tenants.Filter;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite hands DateTime back as Unspecified; every timestamp here is UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<JobStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<ModelStatus>().HaveConversion<string>().HaveMaxLength(16);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Tenant>(tenant =>
        {
            tenant.Property(t => t.Name).HasMaxLength(200);
            tenant.HasIndex(t => t.Name).IsUnique();
            tenant.HasData(new Tenant { Id = Tenant.DefaultId, Name = "default", CreatedAt = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc) });
        });
        modelBuilder.Entity<ApiKey>(key =>
        {
            key.Property(k => k.Name).HasMaxLength(200);
            key.Property(k => k.Role).HasMaxLength(16);
            key.Property(k => k.Prefix).HasMaxLength(16);
            key.Property(k => k.Hash).HasMaxLength(64);
            key.HasIndex(k => k.Hash).IsUnique();
            key.HasOne(k => k.Tenant).WithMany().HasForeignKey(k => k.TenantId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<Dataset>(dataset =>
        {
            dataset.HasIndex(d => d.CreatedAt);
            dataset.Property(d => d.ColumnValues).HasConversion(
                v => v == null ? null : JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
                v => v == null ? null : JsonSerializer.Deserialize<Dictionary<string, List<string>>>(v, JsonSerializerOptions.Default),
                new Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<Dictionary<string, List<string>>?>(
                    (a, b) => JsonSerializer.Serialize(a, JsonSerializerOptions.Default) == JsonSerializer.Serialize(b, JsonSerializerOptions.Default),
                    v => v == null ? 0 : v.Count, v => v == null ? null : v.ToDictionary(kv => kv.Key, kv => kv.Value.ToList())));
            dataset.HasOne<Tenant>().WithMany().HasForeignKey(d => d.TenantId).OnDelete(DeleteBehavior.Restrict);
            dataset.HasQueryFilter(TenantFilterName, d => TenantFilter == null || d.TenantId == TenantFilter);
        });
        modelBuilder.Entity<Model>(model =>
        {
            model.HasIndex(m => m.CreatedAt);
            model.Property(m => m.Precision).HasMaxLength(8).HasDefaultValue(Precisions.Fp32);
            model.Property(m => m.Status).HasDefaultValue(ModelStatus.Ready);
            model.Property(m => m.ImportError).HasMaxLength(2000);
            model.Property(m => m.HubId).HasMaxLength(200);
            model.Property(m => m.HubRevision).HasMaxLength(256);
            model.Property(m => m.HubCommit).HasMaxLength(40);
            model.HasOne<Tenant>().WithMany().HasForeignKey(m => m.TenantId).OnDelete(DeleteBehavior.Restrict);
            model.HasQueryFilter(TenantFilterName, m => TenantFilter == null || m.TenantId == TenantFilter || m.Shared);
        });
        modelBuilder.Entity<Job>(job =>
        {
            job.HasOne<Tenant>().WithMany().HasForeignKey(j => j.TenantId).OnDelete(DeleteBehavior.Restrict);
            job.HasIndex(j => new { j.TenantId, j.Status });
            job.HasQueryFilter(TenantFilterName, j => TenantFilter == null || j.TenantId == TenantFilter);
            job.HasIndex(j => new { j.Status, j.CreatedAt });
            job.HasIndex(j => j.CreatedAt);
            // Restrict: a dataset or model is deleted only once no job that has not finished names it (deleting
            // clears the references of finished ones first, in the same transaction).
            job.HasOne<Dataset>().WithMany().HasForeignKey(j => j.TrainDatasetId).OnDelete(DeleteBehavior.Restrict);
            job.HasOne<Dataset>().WithMany().HasForeignKey(j => j.ValidationDatasetId).OnDelete(DeleteBehavior.Restrict);
            job.HasOne<Model>().WithMany().HasForeignKey(j => j.BaseModelId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<MetricPoint>(point =>
        {
            point.HasIndex(p => new { p.JobId, p.Step });
            point.HasOne(p => p.Job).WithMany().HasForeignKey(p => p.JobId).OnDelete(DeleteBehavior.Cascade);
            point.HasQueryFilter(TenantFilterName, p => TenantFilter == null || p.Job!.TenantId == TenantFilter);
        });
        modelBuilder.Entity<JobEvent>(e =>
        {
            e.HasOne(x => x.Job).WithMany().HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade);
            e.HasQueryFilter(TenantFilterName, x => TenantFilter == null || x.Job!.TenantId == TenantFilter);
        });
        modelBuilder.Entity<Checkpoint>(checkpoint =>
        {
            checkpoint.HasIndex(c => new { c.JobId, c.Step }).IsUnique();
            checkpoint.HasOne(c => c.Job).WithMany().HasForeignKey(c => c.JobId).OnDelete(DeleteBehavior.Cascade);
            checkpoint.HasQueryFilter(TenantFilterName, c => TenantFilter == null || c.Job!.TenantId == TenantFilter);
            checkpoint.Property(c => c.Metrics).HasConversion(
                v => JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
                v => JsonSerializer.Deserialize<Dictionary<string, double>>(v, JsonSerializerOptions.Default) ?? new(),
                new Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<Dictionary<string, double>>(
                    (a, b) => a!.Count == b!.Count && !a.Except(b).Any(), v => v.Count, v => new(v)));
        });
        modelBuilder.Entity<IdempotencyKey>(key =>
        {
            // Per tenant: another tenant's key neither replays nor blocks this one.
            key.HasKey(k => new { k.TenantId, k.Key });
            key.Property(k => k.Key).HasMaxLength(200);
            key.HasOne<Tenant>().WithMany().HasForeignKey(k => k.TenantId).OnDelete(DeleteBehavior.Cascade);
        });
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        StampTenant();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        StampTenant();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>A new dataset, model or job without a tenant belongs to the caller's; background work (no caller) must
    /// name it, e.g. a job's result model is its job's.</summary>
    void StampTenant()
    {
        foreach (var entry in ChangeTracker.Entries<ITenantOwned>())
        {
            if (entry.State != EntityState.Added || entry.Entity.TenantId != Guid.Empty) continue;
            entry.Entity.TenantId = tenants.Owner
                ?? throw new InvalidOperationException($"A new {entry.Metadata.ClrType.Name} has no tenant and there is no caller to take it from.");
        }
    }

    sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(), v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}
