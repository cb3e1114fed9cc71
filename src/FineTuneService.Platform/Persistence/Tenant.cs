namespace FineTuneService.Platform.Persistence;

/// <summary>Who owns data. Quotas are null when unlimited.</summary>
public sealed class Tenant
{
    /// <summary>The tenant of the bootstrap admin key, of open (embedded, loopback) mode, and of every row made before tenancy.</summary>
    public static readonly Guid DefaultId = new("00000000-0000-0000-0000-000000000001");

    public Guid Id { get; init; }
    public required string Name { get; set; }
    public long? MaxStorageBytes { get; set; }
    public int? MaxRunningJobs { get; set; }
    public int? MaxQueuedJobs { get; set; }
    public DateTime CreatedAt { get; init; }
}
