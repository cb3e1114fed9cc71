using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Http;

namespace FineTuneService.Platform.Identity;

/// <summary>The tenant the current unit of work may see, read by <see cref="AppDbContext"/>'s query filters. Outside a
/// request (workers, recovery, start-up) it sees every tenant; in a request, an admin sees every tenant, anyone else
/// their own, and an unauthenticated request nothing.</summary>
public sealed class TenantScope(IHttpContextAccessor? http)
{
    public static readonly TenantScope Background = new(null);

    Caller? Caller => http?.HttpContext is { } context ? Caller.From(context.User) : null;

    /// <summary>null: every tenant.</summary>
    public Guid? Filter => http?.HttpContext is null ? null : Caller is { } caller ? (caller.IsAdmin ? null : caller.TenantId) : Guid.Empty;

    /// <summary>The tenant a new row belongs to: the caller's, even an admin's; null outside a request.</summary>
    public Guid? Owner => Caller?.TenantId;
}
