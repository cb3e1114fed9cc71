namespace FineTuneService.Platform.Persistence;

/// <summary>A Hugging Face model folder on the volume: imported (uploaded, or pulled from the Hub), or the result of a
/// job (lineage).</summary>
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
    /// <summary>Counted against the tenant's quota; while a Hub import runs, the size the Hub announced (a reservation).</summary>
    public long SizeBytes { get; set; }
    public Guid? SourceJobId { get; init; }
    public Guid? BaseModelId { get; init; }
    /// <summary><c>fp32</c>, or <c>int8</c>: a quantized copy (its <see cref="BaseModelId"/> is the fp32 model) whose
    /// ONNX graph runs int8 matrix products.</summary>
    public string Precision { get; set; } = Precisions.Fp32;
    /// <summary>An int8 copy's agreement and accuracy against its fp32 model on a labelled dataset (JSON), when measured.</summary>
    public string? QuantizationReport { get; set; }
    public ModelStatus Status { get; set; }
    /// <summary>A Hub import's progress: bytes of the files in place (downloaded or found in the cache) of the total.</summary>
    public long? ImportBytesDone { get; set; }
    public long? ImportBytesTotal { get; set; }
    /// <summary>Why a Hub import failed: <c>code: detail</c>.</summary>
    public string? ImportError { get; set; }
    /// <summary>Where a Hub import came from: the repo id, the revision asked for and the commit it resolved to.</summary>
    public string? HubId { get; init; }
    public string? HubRevision { get; init; }
    public string? HubCommit { get; init; }
    public DateTime CreatedAt { get; init; }
}
