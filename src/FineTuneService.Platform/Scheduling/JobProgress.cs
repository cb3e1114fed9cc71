namespace FineTuneService.Platform.Scheduling;

public sealed record JobProgress(int Step, int TotalSteps, double Epoch);
