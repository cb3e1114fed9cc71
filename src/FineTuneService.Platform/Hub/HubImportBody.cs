namespace FineTuneService.Platform.Hub;

/// <summary>The JSON body of <c>POST /models/import</c> that pulls a model from the Hub (OpenAPI shape; the handler reads it itself).</summary>
/// <param name="HubId">The Hub's model id, e.g. FacebookAI/roberta-base.</param>
/// <param name="Revision">A branch, tag or commit sha; default main. The commit it resolves to is recorded on the model.</param>
/// <param name="Name">Display name; default the Hub id.</param>
public sealed record HubImportBody(string HubId, string? Revision, string? Name);
