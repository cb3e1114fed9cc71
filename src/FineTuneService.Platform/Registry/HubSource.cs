namespace FineTuneService.Platform.Registry;

/// <summary>Where a model was pulled from: the Hub id, the revision asked for and the commit sha it resolved to.</summary>
public sealed record HubSource(string Id, string Revision, string CommitSha);
