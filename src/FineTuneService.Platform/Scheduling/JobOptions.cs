using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Configuration section <c>Jobs</c>: the lease that keeps a job on one worker, how often it is checked, and how
/// often a job whose worker died is tried again.</summary>
public sealed class JobOptions
{
    /// <summary>A worker that has not renewed its lease for this long is taken for dead; its job is re-enqueued.</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 30;
    /// <summary>How often a running job renews its lease and looks for a cancel request.</summary>
    [Range(0.1, 60)] public double HeartbeatSeconds { get; set; } = 1;
    /// <summary>How often a worker looks for jobs whose worker died (or that an embedded restart lost).</summary>
    [Range(0.5, 3600)] public double RecoverySeconds { get; set; } = 10;
    /// <summary>A job whose worker died this many times fails instead of being enqueued again (a poison job).</summary>
    [Range(1, 100)] public int MaxAttempts { get; set; } = 3;
    /// <summary>The wait before a dead worker's job runs again; it doubles with each death.</summary>
    [Range(0, 86400)] public double RetryBackoffSeconds { get; set; } = 30;
    /// <summary>The most <c>num_train_epochs</c> a job may ask for.</summary>
    [Range(1, 1_000_000)] public double MaxEpochs { get; set; } = 100;
    /// <summary>The most optimizer steps a job may run: its <c>max_steps</c>, or its epochs over the training rows.</summary>
    [Range(1, int.MaxValue)] public int MaxSteps { get; set; } = 1_000_000;
    /// <summary>A job still running this long after its first start fails (its checkpoints say how far it got).</summary>
    [Range(1, 365 * 86400)] public double MaxJobSeconds { get; set; } = 7 * 86400;
    /// <summary>The fewest steps between two checkpoints (<c>save_steps</c>).</summary>
    [Range(1, 1_000_000)] public int MinSaveSteps { get; set; } = 20;
    /// <summary>The <c>save_total_limit</c> of a job that sets none.</summary>
    [Range(1, 1000)] public int DefaultSaveTotalLimit { get; set; } = 2;
    /// <summary>How often <c>GET /jobs/{id}/stream</c> looks for new rows (the job may train in another process).</summary>
    [Range(0.05, 60)] public double StreamPollSeconds { get; set; } = 0.5;
}
