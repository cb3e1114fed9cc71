namespace FineTuneService.Platform.Persistence;

/// <summary>A training job. The lease (owner + expiry, renewed by the running worker's heartbeat) makes sure
/// only one worker runs it at a time; <see cref="CancelRequested"/> is how a cancel reaches that worker.</summary>
public sealed class Job : ITenantOwned
{
    public Guid Id { get; init; }
    public Guid TenantId { get; set; }
    public required string Type { get; init; }
    public required string Task { get; init; }
    public JobStatus Status { get; set; }
    /// <summary>Null once the dataset or model was deleted after the job finished; a job that has not finished holds them
    /// (foreign keys), so they cannot be deleted from under it.</summary>
    public Guid? TrainDatasetId { get; init; }
    public Guid? ValidationDatasetId { get; init; }
    public Guid? BaseModelId { get; init; }
    public Guid? ResultModelId { get; set; }
    /// <summary>The spec as accepted (JSON): what the training core is given on every attempt.</summary>
    public required string Spec { get; init; }
    /// <summary>The hyperparameters in effect (JSON): the spec's, with Hugging Face defaults filled in.</summary>
    public required string Hyperparameters { get; init; }
    public int Step { get; set; }
    public int TotalSteps { get; set; }
    public double Epoch { get; set; }
    public string? Error { get; set; }
    public bool CancelRequested { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseExpiresAt { get; set; }
    public int Attempt { get; set; }
    /// <summary>Attempts whose worker died (stopped renewing the lease); at <c>Jobs:MaxAttempts</c> the job fails.</summary>
    public int Deaths { get; set; }
    public string? HangfireJobId { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}
