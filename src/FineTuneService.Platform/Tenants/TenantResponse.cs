using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Tenants;

public sealed record TenantResponse(Guid Id, string Name, TenantQuotas Quotas, DateTime CreatedAt)
{
    public static TenantResponse From(Tenant t) => new(t.Id, t.Name, new TenantQuotas(t.MaxStorageBytes, t.MaxRunningJobs, t.MaxQueuedJobs), t.CreatedAt);
}
