namespace FineTuneService.Platform.Identity;

/// <summary>The named authorization policies an endpoint (group) picks with <c>RequireKey</c>. An endpoint that
/// names none gets <see cref="TenantData"/>, the fallback, so a new endpoint is never open by accident.</summary>
public static class Policies
{
    /// <summary>Tenant data by HTTP method: GET and HEAD need a reader (admin, member, reader), anything else a writer (admin, member).</summary>
    public const string TenantData = "tenant-data";
    /// <summary>admin, member, reader, whatever the method (e.g. a POST that only reads).</summary>
    public const string Read = "read";
    /// <summary>admin, member.</summary>
    public const string Write = "write";
    /// <summary>Predict and tokenize: every role.</summary>
    public const string Inference = "inference";
    /// <summary>Tenants, keys, sharing models: admin only.</summary>
    public const string Admin = "admin";
    /// <summary>The Hangfire dashboard: admin, by the sign-in cookie or the Authorization header.</summary>
    public const string Dashboard = "dashboard";
}
