using System.Text.Json.Serialization;

namespace FineTuneService.Platform.Webhooks;

/// <summary>One of a job spec's <c>webhooks</c>: where to POST the job's events and the secret that signs them.</summary>
/// <param name="Url">An http(s) URL on a host that Webhooks:AllowedHosts allows.</param>
/// <param name="Secret">16 to 256 characters; the HMAC-SHA256 key of the signature header. Never shown again.</param>
/// <param name="Events">Any of job.succeeded, job.failed, job.cancelled, job.checkpoint; default the first three.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Webhook(string? Url, string? Secret, IReadOnlyList<string>? Events = null)
{
    public const int MaxPerJob = 5;
    public static readonly IReadOnlyList<string> EventTypes = ["job.succeeded", "job.failed", "job.cancelled", "job.checkpoint"];
    static readonly string[] DefaultEvents = ["job.succeeded", "job.failed", "job.cancelled"];

    public IReadOnlyList<string> Subscribed => Events ?? DefaultEvents;

    /// <summary>Problems keyed <c>webhooks[i].url</c>, <c>webhooks[i].secret</c>, <c>webhooks[i].events</c>.</summary>
    public static void Validate(IReadOnlyList<Webhook>? webhooks, WebhookOptions options, Action<string, string> error)
    {
        if (webhooks is null) return;
        if (webhooks.Count > MaxPerJob) error("webhooks", $"at most {MaxPerJob}");
        for (var i = 0; i < webhooks.Count; i++)
        {
            var (url, secret, events) = webhooks[i];
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url!.Length > 2000)
            {
                error($"webhooks[{i}].url", "an absolute http or https URL of at most 2000 characters");
            }
            else if (!options.Allows(uri))
            {
                error($"webhooks[{i}].url", options.AllowedHostList.Count == 0
                    ? "webhooks are off on this server (Webhooks:AllowedHosts is empty)"
                    : $"'{uri.IdnHost}' is not an allowed webhook host ({string.Join(", ", options.AllowedHostList)})");
            }

            if (secret is null || secret.Length is < 16 or > 256) error($"webhooks[{i}].secret", "required: 16 to 256 characters");
            if (events is not null && (events.Count == 0 || events.Any(e => !EventTypes.Contains(e))))
                error($"webhooks[{i}].events", $"one or more of {string.Join(", ", EventTypes)}");
        }
    }
}
