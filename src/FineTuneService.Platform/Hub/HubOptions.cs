using System.ComponentModel.DataAnnotations;
using System.Net;

namespace FineTuneService.Platform.Hub;

/// <summary>Configuration section <c>Hub</c>: where models are pulled from (the Hugging Face Hub, or a mirror that speaks
/// its protocol, as <c>HF_ENDPOINT</c> names one for Python tools) and with which token.</summary>
public sealed class HubOptions
{
    public const string Section = "Hub";

    [Required] public string Endpoint { get; set; } = "https://huggingface.co";

    /// <summary>The Bearer token sent to <see cref="Endpoint"/> (a Hugging Face read token), for tenants without their own.</summary>
    public string? Token { get; set; }

    /// <summary>Tokens by tenant id (<c>Hub:TenantTokens:&lt;tenant id&gt;</c>): a tenant's gated models are pulled with its
    /// own Hub account. Kept in configuration (a secret store), never in the database.</summary>
    public Dictionary<string, string> TenantTokens { get; set; } = [];

    /// <summary>Seconds a Hub request may wait for an answer, and a download for its next bytes.</summary>
    [Range(1, 3600)] public double TimeoutSeconds { get; set; } = 30;

    /// <summary>Connections to one file before its download fails; each one resumes where the last stopped.</summary>
    [Range(1, 100)] public int MaxAttemptsPerFile { get; set; } = 5;

    /// <summary>Imports downloading at once on each worker host.</summary>
    [Range(1, 64)] public int Concurrency { get; set; } = 2;

    public Uri EndpointUri => new(Endpoint.TrimEnd('/') + "/");

    public string? TokenFor(Guid tenantId) =>
        TenantTokens.TryGetValue(tenantId.ToString(), out var own) && !string.IsNullOrWhiteSpace(own) ? own
        : string.IsNullOrWhiteSpace(Token) ? null : Token;

    /// <summary>Tokens and files travel over HTTPS; plain HTTP only to this machine (a local mirror, the tests).</summary>
    public static bool Acceptable(Uri url) =>
        url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps
            || url.Scheme == Uri.UriSchemeHttp && (url.IsLoopback || IPAddress.TryParse(url.Host, out var ip) && IPAddress.IsLoopback(ip)));

    public bool Valid() =>
        Uri.TryCreate(Endpoint, UriKind.Absolute, out var url) && Acceptable(url) && string.IsNullOrEmpty(url.Query)
        && TenantTokens.Keys.All(k => Guid.TryParse(k, out _));
}
