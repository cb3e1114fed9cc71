namespace FineTuneService.Platform.Storage;

/// <summary>Whether a job may write <c>bytes</c> more to the artifacts volume: asked before each checkpoint. The one seam
/// for storage quotas — the global budget below, or a tenant's quota once tenancy lands (register another implementation).</summary>
public interface IStorageBudget
{
    /// <summary>Null when there is room, else the reason there is not.</summary>
    string? Refuse(Guid jobId, long bytes);
}
