namespace FineTuneService.Training.Jobs;

/// <summary>The storage budget has no room for what the job is about to write.</summary>
public sealed class InsufficientStorageException(string message) : IOException(message);
