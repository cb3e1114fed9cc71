using FineTuneService.Platform.Http;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace FineTuneService.Platform.Tenants;

public static class TenantEndpoints
{
    public static IEndpointRouteBuilder MapTenantEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/tenants/me", Me).WithTags("Tenants").RequireKey(Policies.Read).WithName("GetCurrentTenant")
            .WithSummary("The caller's tenant: quotas and usage");
        var group = app.MapGroup("/tenants").WithTags("Tenants").RequireKey(Policies.Admin);
        group.MapPost("/", Create).WithName("CreateTenant").WithProblems(400, 409).WithSummary("Create a tenant, optionally with quotas (admin)");
        group.MapGet("/", List).WithName("ListTenants").WithProblems(400).WithSummary("List tenants (admin)");
        group.MapGet("/{id:guid}", Get).WithName("GetTenant").WithProblems(404).WithSummary("One tenant (admin)");
        group.MapPatch("/{id:guid}", Update).WithName("UpdateTenant").WithProblems(400, 404, 409).WithSummary("Rename a tenant or change its quotas (admin)");
        group.MapPost("/{id:guid}/keys", CreateKey).WithName("CreateApiKey").WithProblems(400, 404)
            .WithSummary("Create an API key (role admin, member, reader or inference); the key is in this answer only (admin)");
        group.MapGet("/{id:guid}/keys", ListKeys).WithName("ListApiKeys").WithProblems(400, 404).WithSummary("The tenant's keys, without the keys themselves (admin)");
        group.MapDelete("/{id:guid}/keys/{keyId:guid}", RevokeKey).WithName("RevokeApiKey").WithProblems(404).WithSummary("Revoke a key: it answers 401 from now on (admin)");
        return app;
    }

    static async Task<Ok<CurrentTenantResponse>> Me(Caller caller, AppDbContext db, CancellationToken cancellationToken)
    {
        var tenant = await Find(db, caller.TenantId, cancellationToken);
        var usage = await Quotas.UsageAsync(db, tenant.Id, cancellationToken);
        return TypedResults.Ok(new CurrentTenantResponse(tenant.Id, tenant.Name, TenantResponse.From(tenant).Quotas, usage, caller.KeyName, caller.Role));
    }

    static async Task<Created<TenantResponse>> Create(CreateTenantRequest body, Caller caller, AppDbContext db, TimeProvider clock,
        ILogger<Tenant> logger, CancellationToken cancellationToken)
    {
        var name = ValidName(body.Name);
        ValidateQuotas(body.MaxStorageBytes, body.MaxRunningJobs, body.MaxQueuedJobs);
        await EnsureNameFree(db, name, null, cancellationToken);
        var tenant = new Tenant
        {
            Id = Guid.NewGuid(), Name = name, MaxStorageBytes = body.MaxStorageBytes, MaxRunningJobs = body.MaxRunningJobs,
            MaxQueuedJobs = body.MaxQueuedJobs, CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Tenants.Add(tenant);
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Tenant {TenantName} ({NewTenantId}) created by {Caller}", tenant.Name, tenant.Id, caller.ToString());
        return TypedResults.Created($"/tenants/{tenant.Id}", TenantResponse.From(tenant));
    }

    static async Task<Ok<PagedList<TenantResponse>>> List(AppDbContext db, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize) =>
        TypedResults.Ok(await Paging.ReadAsync(db.Tenants.AsNoTracking().OrderBy(t => t.CreatedAt).ThenBy(t => t.Id), page, pageSize,
            TenantResponse.From, cancellationToken));

    static async Task<Ok<TenantResponse>> Get(Guid id, AppDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(TenantResponse.From(await Find(db, id, cancellationToken)));

    static async Task<Ok<TenantResponse>> Update(Guid id, UpdateTenantRequest body, Caller caller, AppDbContext db,
        ILogger<Tenant> logger, CancellationToken cancellationToken)
    {
        var tenant = await db.Tenants.FirstOrDefaultAsync(t => t.Id == id, cancellationToken) ?? throw new NotFoundException("tenant", id);
        if (body.Name.IsSet)
        {
            tenant.Name = ValidName(body.Name.Value);
            await EnsureNameFree(db, tenant.Name, id, cancellationToken);
        }
        if (body.MaxStorageBytes.IsSet) tenant.MaxStorageBytes = body.MaxStorageBytes.Value;
        if (body.MaxRunningJobs.IsSet) tenant.MaxRunningJobs = body.MaxRunningJobs.Value;
        if (body.MaxQueuedJobs.IsSet) tenant.MaxQueuedJobs = body.MaxQueuedJobs.Value;
        ValidateQuotas(tenant.MaxStorageBytes, tenant.MaxRunningJobs, tenant.MaxQueuedJobs);
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Tenant {TenantName} ({UpdatedTenantId}) updated by {Caller}", tenant.Name, tenant.Id, caller.ToString());
        return TypedResults.Ok(TenantResponse.From(tenant));
    }

    static async Task<Created<CreatedKeyResponse>> CreateKey(Guid id, CreateKeyRequest body, Caller caller, AppDbContext db, TimeProvider clock,
        ILogger<ApiKey> logger, CancellationToken cancellationToken)
    {
        var tenant = await Find(db, id, cancellationToken);
        var name = ValidName(body.Name);
        if (body.Role is null || !Roles.All.Contains(body.Role))
            throw new RequestValidationException("role", $"one of {string.Join(", ", Roles.All)}");
        var now = clock.GetUtcNow().UtcDateTime;
        if (body.ExpiresAt is { } expires && expires.ToUniversalTime() <= now) throw new RequestValidationException("expires_at", "in the future");
        var (key, prefix, hash) = ApiKeys.Create();
        var stored = new ApiKey
        {
            Id = Guid.NewGuid(), TenantId = tenant.Id, Name = name, Role = body.Role, Prefix = prefix, Hash = hash,
            CreatedAt = now, ExpiresAt = body.ExpiresAt?.ToUniversalTime(),
        };
        db.ApiKeys.Add(stored);
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("API key {NewKeyName} ({NewKeyId}, {Role}) of tenant {TenantName} created by {Caller}", name, stored.Id, stored.Role, tenant.Name, caller.ToString());
        return TypedResults.Created($"/tenants/{tenant.Id}/keys/{stored.Id}",
            new CreatedKeyResponse(stored.Id, tenant.Id, name, stored.Role, prefix, key, now, stored.ExpiresAt));
    }

    static async Task<Ok<PagedList<ApiKeyResponse>>> ListKeys(Guid id, AppDbContext db, CancellationToken cancellationToken,
        int page = 1, [FromQuery(Name = "page_size")] int pageSize = Paging.DefaultPageSize)
    {
        await Find(db, id, cancellationToken);
        return TypedResults.Ok(await Paging.ReadAsync(db.ApiKeys.AsNoTracking().Where(k => k.TenantId == id).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id),
            page, pageSize, ApiKeyResponse.From, cancellationToken));
    }

    static async Task<NoContent> RevokeKey(Guid id, Guid keyId, Caller caller, AppDbContext db, TimeProvider clock,
        ILogger<ApiKey> logger, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == keyId && k.TenantId == id, cancellationToken) ?? throw new NotFoundException("API key", keyId);
        key.RevokedAt ??= clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("API key {RevokedKeyName} ({RevokedKeyId}) revoked by {Caller}", key.Name, key.Id, caller.ToString());
        return TypedResults.NoContent();
    }

    static async Task<Tenant> Find(AppDbContext db, Guid id, CancellationToken cancellationToken) =>
        await db.Tenants.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken) ?? throw new NotFoundException("tenant", id);

    static string ValidName(string? name) => name?.Trim() is { Length: > 0 and <= DisplayName.MaxLength } n ? n
        : throw new RequestValidationException("name", $"required, at most {DisplayName.MaxLength} characters");

    static async Task EnsureNameFree(AppDbContext db, string name, Guid? self, CancellationToken cancellationToken)
    {
        if (await db.Tenants.AnyAsync(t => t.Name == name && t.Id != self, cancellationToken))
            throw new ConflictException($"A tenant named '{name}' exists.");
    }

    static void ValidateQuotas(long? storage, int? running, int? queued)
    {
        var errors = new Dictionary<string, string[]>();
        if (storage < 0) errors["max_storage_bytes"] = ["at least 0, or null for no limit"];
        if (running < 0) errors["max_running_jobs"] = ["at least 0, or null for no limit"];
        if (queued < 0) errors["max_queued_jobs"] = ["at least 0, or null for no limit"];
        if (errors.Count > 0) throw new RequestValidationException(errors);
    }
}
