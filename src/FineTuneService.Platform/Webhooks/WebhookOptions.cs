using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace FineTuneService.Platform.Webhooks;

/// <summary>Configuration section <c>Webhooks</c>: which hosts a job's webhooks may call, and how deliveries retry.</summary>
public sealed class WebhookOptions
{
    /// <summary>Comma-separated host names (or IP literals) webhooks may target; <c>*.example.com</c> allows its
    /// subdomains. Empty (the default): webhooks are refused, so nobody makes the service call internal addresses.</summary>
    public string AllowedHosts { get; set; } = "";

    /// <summary>Comma-separated seconds to wait before each retry of a failed delivery; their count is the retries.</summary>
    [Required] public string RetryDelays { get; set; } = "5,30,120,600,1800";

    [Range(1, 120)] public double TimeoutSeconds { get; set; } = 10;

    public IReadOnlyList<string> AllowedHostList =>
        [.. AllowedHosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(h => h.ToLowerInvariant())];

    public IReadOnlyList<TimeSpan> RetryDelayList =>
        [.. RetryDelays.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => TimeSpan.FromSeconds(double.Parse(s, CultureInfo.InvariantCulture)))];

    public bool Allows(Uri url)
    {
        var host = url.IdnHost.ToLowerInvariant();
        return AllowedHostList.Any(allowed => allowed.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(allowed[1..], StringComparison.Ordinal)
            : host == allowed);
    }
}
