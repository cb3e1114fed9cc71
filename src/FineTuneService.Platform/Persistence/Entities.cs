namespace FineTuneService.Platform.Persistence;

/// <summary>queued → running → succeeded | failed | cancelled; running → pausing → paused → (resume) queued.</summary>
public enum JobStatus { Validating, Queued, Running, Cancelling, Succeeded, Failed, Cancelled, Pausing, Paused }

/// <summary>A row that belongs to a tenant: <see cref="AppDbContext"/> filters every query by it and stamps new rows with
/// the caller's tenant.</summary>
public interface ITenantOwned
{
    Guid TenantId { get; set; }
}

public static class JobStatusGroups
{
    public static readonly JobStatus[] Finished = [JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled];
}

/// <summary>An uploaded data file. <see cref="Path"/> is relative to the storage root; <see cref="FileName"/> is the
/// client's name, kept for display only.</summary>
public sealed class Dataset : ITenantOwned
{
    public Guid Id { get; init; }
    public Guid TenantId { get; set; }
    public required string Name { get; set; }
    public required string FileName { get; init; }
    public required string Format { get; init; }
    public required string Path { get; init; }
    public long SizeBytes { get; init; }
    public required string Sha256 { get; init; }
    public long NumRows { get; init; }
    public List<string> Columns { get; init; } = [];
    /// <summary>Corpus statistics (documents, non-blank lines, uncompressed bytes): set for txt, and for jsonl whose every
    /// line has a string <c>text</c>; null for other data.</summary>
    public long? NumDocuments { get; init; }
    public long? NumLines { get; init; }
    public long? NumBytes { get; init; }
    /// <summary>Each column's distinct values as the upload found them, for columns with at most
    /// <see cref="MaxRecordedValues"/> (a label column); what <c>POST /jobs</c> checks labels against without reading the data.</summary>
    public Dictionary<string, List<string>>? ColumnValues { get; init; }
    public DateTime CreatedAt { get; init; }

    public const int MaxRecordedValues = 1000;
}

/// <summary>A Hugging Face model folder on the volume: imported, or the result of a job (lineage).</summary>
public sealed class Model : ITenantOwned
{
    public Guid Id { get; init; }
    public Guid TenantId { get; set; }
    /// <summary>Readable by every tenant (a base checkpoint everyone fine-tunes); only an admin may change it.</summary>
    public bool Shared { get; set; }
    public required string Name { get; set; }
    public required string Path { get; init; }
    public string? Architecture { get; init; }
    public string? ModelType { get; init; }
    public long SizeBytes { get; init; }
    public Guid? SourceJobId { get; init; }
    public Guid? BaseModelId { get; init; }
    /// <summary><c>fp32</c>, or <c>int8</c>: a quantized copy (its <see cref="BaseModelId"/> is the fp32 model) whose
    /// ONNX graph runs int8 matrix products.</summary>
    public string Precision { get; set; } = Precisions.Fp32;
    /// <summary>An int8 copy's agreement and accuracy against its fp32 model on a labelled dataset (JSON), when measured.</summary>
    public string? QuantizationReport { get; set; }
    public DateTime CreatedAt { get; init; }
}

public static class Precisions
{
    public const string Fp32 = "fp32";
    public const string Int8 = "int8";
}

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

public sealed class Checkpoint
{
    public long Id { get; init; }
    public Guid JobId { get; init; }
    /// <summary>The tenancy filter's way to the job's tenant; not loaded.</summary>
    public Job? Job { get; init; }
    public int Step { get; init; }
    public required string Path { get; init; }
    /// <summary>The checkpoint folder's bytes, counted against the tenant's storage quota.</summary>
    public long SizeBytes { get; init; }
    public Dictionary<string, double> Metrics { get; init; } = [];
    public DateTime CreatedAt { get; init; }
}

/// <summary>A client's <c>Idempotency-Key</c> for <c>POST /jobs</c>: a retry with the same key and body returns the first job.</summary>
public sealed class IdempotencyKey
{
    public Guid TenantId { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public Guid JobId { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>Who owns data. Quotas are null when unlimited.</summary>
public sealed class Tenant
{
    /// <summary>The tenant of the bootstrap admin key, of open (embedded, loopback) mode, and of every row made before tenancy.</summary>
    public static readonly Guid DefaultId = new("00000000-0000-0000-0000-000000000001");

    public Guid Id { get; init; }
    public required string Name { get; set; }
    public long? MaxStorageBytes { get; set; }
    public int? MaxRunningJobs { get; set; }
    public int? MaxQueuedJobs { get; set; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>An API key: only its SHA-256 is stored (keys are 192 random bits, so a fast hash is enough), with the first
/// characters kept to recognise it in lists.</summary>
public sealed class ApiKey
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Tenant? Tenant { get; init; }
    public required string Name { get; init; }
    public required string Role { get; init; }
    public required string Prefix { get; init; }
    public required string Hash { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime? RevokedAt { get; set; }
}
