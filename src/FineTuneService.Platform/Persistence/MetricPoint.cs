namespace FineTuneService.Platform.Persistence;

public sealed class MetricPoint
{
    public long Id { get; init; }
    public Guid JobId { get; init; }
    /// <summary>The tenancy filter's way to the job's tenant; not loaded.</summary>
    public Job? Job { get; init; }
    public int Step { get; init; }
    public double Epoch { get; init; }
    public required string Name { get; init; }
    public double Value { get; init; }
    public required string Split { get; init; }
    /// <summary>Which run of the job wrote it: a resumed job's points after its checkpoint carry the next attempt.</summary>
    public int Attempt { get; init; }
}
