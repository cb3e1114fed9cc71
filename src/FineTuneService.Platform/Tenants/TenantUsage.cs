namespace FineTuneService.Platform.Tenants;

public sealed record TenantUsage(long StorageBytes, int RunningJobs, int QueuedJobs);
