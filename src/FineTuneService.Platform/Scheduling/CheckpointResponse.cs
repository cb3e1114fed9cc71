namespace FineTuneService.Platform.Scheduling;

public sealed record CheckpointResponse(int Step, IReadOnlyDictionary<string, double> Metrics, DateTime CreatedAt);
