namespace FineTuneService.Platform.Tenants;

public sealed record CreateKeyRequest(string? Name, string? Role, DateTime? ExpiresAt = null);
