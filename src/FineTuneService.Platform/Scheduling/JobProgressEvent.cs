using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The SSE <c>data</c> of a <c>progress</c> event.</summary>
public sealed record JobProgressEvent(JobStatus Status, int Step, int TotalSteps, double Epoch);
