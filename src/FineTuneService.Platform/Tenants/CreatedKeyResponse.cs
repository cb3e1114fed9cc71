namespace FineTuneService.Platform.Tenants;

/// <summary>The key itself, in this answer only: it is stored hashed.</summary>
public sealed record CreatedKeyResponse(Guid Id, Guid TenantId, string Name, string Role, string Prefix, string Key, DateTime CreatedAt, DateTime? ExpiresAt);
