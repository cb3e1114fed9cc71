namespace FineTuneService.Platform.Webhooks;

/// <summary>A webhook as a job shows it: without its secret.</summary>
public sealed record WebhookView(string Url, IReadOnlyList<string> Events);
