using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Storage;

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
