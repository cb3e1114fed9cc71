using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Storage;

/// <summary>Whether a job may write <c>bytes</c> more to the artifacts volume: asked before each checkpoint. The one seam
/// for storage quotas — the global budget below, or a tenant's quota once tenancy lands (register another implementation).</summary>
public interface IStorageBudget
{
    /// <summary>Null when there is room, else the reason there is not.</summary>
    string? Refuse(Guid jobId, long bytes);
}

/// <summary>The volume's budget: <c>Storage:MaxBytes</c> for everything under the storage root (unset: no cap), and
/// <c>Storage:MinFreeBytes</c> that must stay free on the disk after the write.</summary>
public sealed class VolumeStorageBudget(ArtifactStore store, IOptions<StorageOptions> options) : IStorageBudget
{
    public string? Refuse(Guid jobId, long bytes)
    {
        var limits = options.Value;
        var free = new DriveInfo(store.Root).AvailableFreeSpace;
        if (free - bytes < limits.MinFreeBytes)
            return $"the disk has {free:N0} bytes free; {bytes:N0} more would leave less than Storage:MinFreeBytes ({limits.MinFreeBytes:N0})";
        if (limits.MaxBytes is { } max && ArtifactStore.FolderSize(store.Root) is var used && used + bytes > max)
            return $"the artifacts take {used:N0} bytes; {bytes:N0} more would pass Storage:MaxBytes ({max:N0})";
        return null;
    }
}
