namespace FineTuneService.Platform.Registry;

/// <summary>A Hub import's bytes in place (downloaded, or found in the cache) of all its files'.</summary>
public sealed record ImportProgress(long BytesDone, long BytesTotal);
