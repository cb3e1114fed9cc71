namespace FineTuneService.Platform.Hub;

/// <summary>A file of a Hub repo as the revision API lists it (<c>?blobs=true</c>: with its size, and an LFS file's sha256).</summary>
public sealed record HubFile(string Name, long? Size, string? Sha256);
