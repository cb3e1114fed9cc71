namespace FineTuneService.Platform.Http;

/// <summary>A file part saved under a random name; <see cref="ClientFileName"/> is display-only.</summary>
public sealed record UploadedFile(string Field, string ClientFileName, string Path, long Length, string Sha256);
