namespace FineTuneService.Platform.Tenants;

/// <summary>PATCH: a property that is present is set (null clears a quota); an absent one is kept.</summary>
public sealed record UpdateTenantRequest(Optional<string> Name, Optional<long?> MaxStorageBytes, Optional<int?> MaxRunningJobs, Optional<int?> MaxQueuedJobs);
