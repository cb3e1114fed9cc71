namespace FineTuneService.Platform.Tenants;

public sealed record CurrentTenantResponse(Guid Id, string Name, TenantQuotas Quotas, TenantUsage Usage, string KeyName, string Role);
