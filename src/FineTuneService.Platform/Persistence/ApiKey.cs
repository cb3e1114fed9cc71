namespace FineTuneService.Platform.Persistence;

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
