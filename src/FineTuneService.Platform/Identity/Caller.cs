using System.Security.Claims;
using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Identity;

/// <summary>Who is calling: the key (name, id; null for the bootstrap key and open mode), its role and its tenant.
/// A handler takes it as a parameter; it is what audit lines name.</summary>
public sealed record Caller(Guid? KeyId, string KeyName, string Role, Guid TenantId, string TenantName)
{
    const string KeyIdClaim = "fts:key_id", KeyNameClaim = "fts:key_name", TenantIdClaim = "fts:tenant_id", TenantNameClaim = "fts:tenant_name";

    /// <summary>Embedded mode on loopback without keys: every request is the default tenant's admin.</summary>
    public static readonly Caller Open = new(null, "anonymous (open mode)", Roles.Admin, Tenant.DefaultId, "default");
    public static readonly Caller Bootstrap = new(null, "bootstrap", Roles.Admin, Tenant.DefaultId, "default");

    public bool IsAdmin => Role == Roles.Admin;

    public override string ToString() => $"key '{KeyName}' (tenant {TenantName})";

    public ClaimsPrincipal ToPrincipal(string scheme) => new(new ClaimsIdentity(
    [
        new Claim(KeyNameClaim, KeyName), new Claim(ClaimTypes.Role, Role),
        new Claim(TenantIdClaim, TenantId.ToString()), new Claim(TenantNameClaim, TenantName),
        .. KeyId is { } id ? [new Claim(KeyIdClaim, id.ToString())] : Array.Empty<Claim>(),
    ], scheme, KeyNameClaim, ClaimTypes.Role));

    public static Caller? From(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && user.FindFirstValue(TenantIdClaim) is { } tenant
            ? new Caller(user.FindFirstValue(KeyIdClaim) is { } id ? Guid.Parse(id) : null, user.FindFirstValue(KeyNameClaim) ?? "",
                user.FindFirstValue(ClaimTypes.Role) ?? "", Guid.Parse(tenant), user.FindFirstValue(TenantNameClaim) ?? "")
            : null;

    /// <summary>Minimal API binding: <c>Caller caller</c> in a handler is the authenticated caller.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) => ValueTask.FromResult(From(context.User));
}
