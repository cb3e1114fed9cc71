using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Registry;

/// <summary>The multipart form of <c>POST /models/import</c> (OpenAPI shape; the handler streams the parts itself).</summary>
/// <param name="Files">The folder's files (config.json, model.safetensors, vocab.txt or tokenizer.json, tokenizer_config.json, …), or one .zip / .tar.gz of them.</param>
/// <param name="Name">Display name; default "imported model".</param>
public sealed record ModelImportForm(IReadOnlyList<IFormFile> Files, string? Name);
