using FineTuneService.Platform.Scheduling;

namespace FineTuneService.Platform.Webhooks;

/// <summary>The body of every webhook POST: <c>id</c> is the delivery's (the same on every retry, so receivers can
/// drop repeats), <c>data</c> the job as <c>GET /jobs/{id}</c> shows it at delivery time.</summary>
public sealed record WebhookEvent(Guid Id, string Type, DateTime CreatedAt, JobResponse Data);
