namespace FineTuneService.Platform.Persistence;

/// <summary>A client's <c>Idempotency-Key</c> for <c>POST /jobs</c>: a retry with the same key and body returns the first job.</summary>
public sealed class IdempotencyKey
{
    public Guid TenantId { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public Guid JobId { get; init; }
    public DateTime CreatedAt { get; init; }
}
