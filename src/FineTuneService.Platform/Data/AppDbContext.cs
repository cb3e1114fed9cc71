using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace FineTuneService.Platform.Data;

public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<Model> Models => Set<Model>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<MetricPoint> MetricPoints => Set<MetricPoint>();
    public DbSet<JobEvent> JobEvents => Set<JobEvent>();
    public DbSet<Checkpoint> Checkpoints => Set<Checkpoint>();
    public DbSet<IdempotencyKey> IdempotencyKeys => Set<IdempotencyKey>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite hands DateTime back as Unspecified; every timestamp here is UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<JobStatus>().HaveConversion<string>().HaveMaxLength(16);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Dataset>(dataset =>
        {
            dataset.HasIndex(d => d.CreatedAt);
            dataset.Property(d => d.ColumnValues).HasConversion(
                v => v == null ? null : JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
                v => v == null ? null : JsonSerializer.Deserialize<Dictionary<string, List<string>>>(v, JsonSerializerOptions.Default),
                new Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<Dictionary<string, List<string>>?>(
                    (a, b) => JsonSerializer.Serialize(a, JsonSerializerOptions.Default) == JsonSerializer.Serialize(b, JsonSerializerOptions.Default),
                    v => v == null ? 0 : v.Count, v => v == null ? null : v.ToDictionary(kv => kv.Key, kv => kv.Value.ToList())));
        });
        modelBuilder.Entity<Model>(model =>
        {
            model.HasIndex(m => m.CreatedAt);
            model.Property(m => m.Precision).HasMaxLength(8).HasDefaultValue(Precisions.Fp32);
        });
        modelBuilder.Entity<Job>(job =>
        {
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
            point.HasOne<Job>().WithMany().HasForeignKey(p => p.JobId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<JobEvent>(e => e.HasOne<Job>().WithMany().HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade));
        modelBuilder.Entity<Checkpoint>(checkpoint =>
        {
            checkpoint.HasIndex(c => new { c.JobId, c.Step }).IsUnique();
            checkpoint.HasOne<Job>().WithMany().HasForeignKey(c => c.JobId).OnDelete(DeleteBehavior.Cascade);
            checkpoint.Property(c => c.Metrics).HasConversion(
                v => JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
                v => JsonSerializer.Deserialize<Dictionary<string, double>>(v, JsonSerializerOptions.Default) ?? new(),
                new Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<Dictionary<string, double>>(
                    (a, b) => a!.Count == b!.Count && !a.Except(b).Any(), v => v.Count, v => new(v)));
        });
        modelBuilder.Entity<IdempotencyKey>(key =>
        {
            key.HasKey(k => k.Key);
            key.Property(k => k.Key).HasMaxLength(200);
        });
    }

    sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(), v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}
