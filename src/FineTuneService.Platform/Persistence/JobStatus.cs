namespace FineTuneService.Platform.Persistence;

/// <summary>queued → running → succeeded | failed | cancelled; running → pausing → paused → (resume) queued.</summary>
public enum JobStatus { Queued, Running, Cancelling, Succeeded, Failed, Cancelled, Pausing, Paused }
