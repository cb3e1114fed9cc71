namespace FineTuneService.Platform.Persistence;

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
