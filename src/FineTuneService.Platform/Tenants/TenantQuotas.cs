namespace FineTuneService.Platform.Tenants;

/// <summary>Quotas; null is unlimited.</summary>
public sealed record TenantQuotas(long? MaxStorageBytes, int? MaxRunningJobs, int? MaxQueuedJobs);
