namespace FineTuneService.Platform.Persistence;

public sealed class Checkpoint
{
    public long Id { get; init; }
    public Guid JobId { get; init; }
    /// <summary>The tenancy filter's way to the job's tenant; not loaded.</summary>
    public Job? Job { get; init; }
    public int Step { get; init; }
    public required string Path { get; init; }
    /// <summary>The checkpoint folder's bytes, counted against the tenant's storage quota.</summary>
    public long SizeBytes { get; init; }
    public Dictionary<string, double> Metrics { get; init; } = [];
    public DateTime CreatedAt { get; init; }
}
