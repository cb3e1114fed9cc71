namespace FineTuneService.Platform.Http;

public sealed record UploadedForm(IReadOnlyDictionary<string, string> Fields, IReadOnlyList<UploadedFile> Files);
