namespace FineTuneService.Platform.Hub;

/// <summary>What a revision (branch, tag or commit) resolved to: its commit sha and its files.</summary>
public sealed record HubRevision(string Commit, IReadOnlyList<HubFile> Files);
