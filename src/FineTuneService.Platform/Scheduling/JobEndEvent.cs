using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The SSE <c>data</c> of the last event, <c>end</c>: the job's final status.</summary>
public sealed record JobEndEvent(JobStatus Status);
