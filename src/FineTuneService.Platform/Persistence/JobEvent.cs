namespace FineTuneService.Platform.Persistence;

public sealed class JobEvent
{
    public long Id { get; init; }
    public Guid JobId { get; init; }
    /// <summary>The tenancy filter's way to the job's tenant; not loaded.</summary>
    public Job? Job { get; init; }
    public DateTime CreatedAt { get; init; }
    public required string Level { get; init; }
    public required string Message { get; init; }
}
