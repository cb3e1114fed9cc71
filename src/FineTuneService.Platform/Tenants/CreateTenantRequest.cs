namespace FineTuneService.Platform.Tenants;

public sealed record CreateTenantRequest(string? Name, long? MaxStorageBytes = null, int? MaxRunningJobs = null, int? MaxQueuedJobs = null);
