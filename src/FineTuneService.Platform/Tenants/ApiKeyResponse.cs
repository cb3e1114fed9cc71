using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Tenants;

public sealed record ApiKeyResponse(Guid Id, Guid TenantId, string Name, string Role, string Prefix, DateTime CreatedAt,
    DateTime? LastUsedAt, DateTime? ExpiresAt, DateTime? RevokedAt)
{
    public static ApiKeyResponse From(ApiKey k) => new(k.Id, k.TenantId, k.Name, k.Role, k.Prefix, k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt);
}
