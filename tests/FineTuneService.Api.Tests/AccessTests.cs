using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FineTuneService.Platform.Identity;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

/// <summary>Tenant A ("tests": the seeded datasets and model, and a queued job) and tenant B, each with keys of every role.</summary>
public class TwoTenantsFactory : SeededApiFactory
{
    public Guid JobId { get; private set; }
    public Guid TenantB { get; private set; }
    public Dictionary<string, string> KeysA { get; } = [];
    public Dictionary<string, string> KeysB { get; } = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        JobId = Guid.Parse(await Accepted(CreateClient().PostAsJsonAsync("/jobs", Spec())));
        using var admin = Client(AdminKey);
        TenantB = await CreateTenant(admin, "tenant-b");
        foreach (var role in Roles.All)
        {
            KeysA[role] = await CreateKey(admin, TenantId, $"a-{role}", role);
            KeysB[role] = await CreateKey(admin, TenantB, $"b-{role}", role);
        }
    }

    /// <summary>Every route of the Api host with its methods and whether it is anonymous by design.</summary>
    public IReadOnlyList<(string Method, string Pattern, bool Anonymous, string? Policy)> Routes() =>
    [
        .. Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
                (m, "/" + e.RoutePattern.RawText!.Trim('/'), e.Metadata.GetMetadata<IAllowAnonymous>() is not null,
                    e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is not null))))
            .Distinct(),
    ];
}

/// <summary>Every endpoint, found through routing (so endpoints added later are covered): anonymous → 401, a reader's
/// writes → 403, tenant B on tenant A's ids → the same answer as an id that does not exist, never 2xx.</summary>
public class AccessTests(TwoTenantsFactory factory) : IClassFixture<TwoTenantsFactory>
{
    static string Fill(string pattern, Guid id) =>
        System.Text.RegularExpressions.Regex.Replace(pattern, @"\{\*{0,2}([A-Za-z_]+)[^}]*\}", m => m.Groups[1].Value == "path" ? "x" : id.ToString());

    static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        // A valid body for predict/tokenize, harmless elsewhere: the refusal must come from identity, not validation.
        Content = method is "GET" or "HEAD" or "DELETE" ? null : new StringContent("""{"inputs": "hello"}""", Encoding.UTF8, "application/json"),
    };

    [Fact]
    public async Task Every_endpoint_needs_a_key_except_health_and_the_dashboard_sign_in()
    {
        using var anonymous = factory.Client(null);
        var routes = factory.Routes();
        Assert.Contains(routes, r => r.Pattern == "/datasets");
        foreach (var (method, pattern, isAnonymous, _) in routes)
        {
            if (isAnonymous)
            {
                Assert.True(pattern.StartsWith("/health/") || pattern == "/hangfire/login", $"{method} {pattern} is anonymous");
                continue;
            }
            var response = await anonymous.SendAsync(Request(method, Fill(pattern, Guid.NewGuid())));
            if (pattern.StartsWith("/hangfire"))
            {
                // A browser is sent to the sign-in form.
                Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{method} {pattern}: {(int)response.StatusCode}");
                Assert.StartsWith("/hangfire/login", response.Headers.Location!.PathAndQuery);
                continue;
            }
            var problem = await response.AssertProblem(HttpStatusCode.Unauthorized);
            Assert.Equal("api_key_required", problem.GetProperty("code").GetString());
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Fact]
    public async Task A_reader_key_reads_and_every_write_is_403()
    {
        using var reader = factory.Client(factory.KeysA[Roles.Reader]);
        foreach (var (method, pattern, isAnonymous, policy) in factory.Routes())
        {
            if (isAnonymous || policy == Policies.Inference || pattern.StartsWith("/hangfire")) continue;
            var response = await reader.SendAsync(Request(method, Fill(pattern, Guid.NewGuid())));
            if (method is "GET" or "HEAD" && policy != Policies.Admin)
                Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {pattern}: {(int)response.StatusCode}");
            else
                Assert.Equal("forbidden", (await response.AssertProblem(HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/datasets/{factory.TrainDatasetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/jobs/{factory.JobId}/events")).StatusCode);
    }

    [Fact]
    public async Task Tenant_b_gets_on_tenant_a_ids_what_a_missing_id_gets_and_sees_none_in_lists()
    {
        using var b = factory.Client(factory.KeysB[Roles.Member]);
        var ids = new Dictionary<string, Guid> { ["/datasets"] = factory.TrainDatasetId, ["/models"] = factory.ModelId, ["/jobs"] = factory.JobId };
        var checkedRoutes = 0;
        foreach (var (method, pattern, isAnonymous, _) in factory.Routes())
        {
            if (isAnonymous || !pattern.Contains("{id") || ids.Keys.FirstOrDefault(pattern.StartsWith) is not { } resource) continue;
            var theirs = await b.SendAsync(Request(method, Fill(pattern, ids[resource])));
            var missing = await b.SendAsync(Request(method, Fill(pattern, Guid.NewGuid())));
            Assert.True(theirs.StatusCode == missing.StatusCode, $"{method} {pattern}: {(int)theirs.StatusCode} on A's id, {(int)missing.StatusCode} on a missing one");
            Assert.False(theirs.IsSuccessStatusCode, $"{method} {pattern}");
            checkedRoutes++;
        }
        Assert.True(checkedRoutes >= 12, $"{checkedRoutes} routes");

        foreach (var path in new[] { $"/datasets/{factory.TrainDatasetId}", $"/datasets/{factory.TrainDatasetId}/preview", $"/models/{factory.ModelId}",
            $"/models/{factory.ModelId}/download", $"/jobs/{factory.JobId}", $"/jobs/{factory.JobId}/metrics", $"/jobs/{factory.JobId}/events",
            $"/jobs/{factory.JobId}/checkpoints" })
        {
            await (await b.GetAsync(path)).AssertProblem(HttpStatusCode.NotFound);
        }

        foreach (var path in new[] { $"/models/{factory.ModelId}/predict", $"/models/{factory.ModelId}/tokenize" })
            await (await b.PostAsJsonAsync(path, new { inputs = "hello" })).AssertProblem(HttpStatusCode.NotFound);
        await (await b.PostAsync($"/jobs/{factory.JobId}/cancel", null)).AssertProblem(HttpStatusCode.NotFound);
        await (await b.DeleteAsync($"/datasets/{factory.TrainDatasetId}")).AssertProblem(HttpStatusCode.NotFound);
        // A's data, in a spec of B's job, does not exist either.
        var spec = await (await b.PostAsJsonAsync("/jobs", factory.Spec())).AssertProblem(HttpStatusCode.BadRequest, "train_dataset_id");
        Assert.True(spec.GetProperty("errors").TryGetProperty("base_model_id", out _), spec.ToString());

        foreach (var list in new[] { "/datasets", "/models", "/jobs" })
            Assert.Empty((await b.GetFromJsonAsync<JsonElement>(list)).GetProperty("items").EnumerateArray());
        using var a = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/jobs/{factory.JobId}")).StatusCode);
        Assert.Contains((await a.GetFromJsonAsync<JsonElement>("/datasets")).GetProperty("items").EnumerateArray(),
            d => d.GetProperty("id").GetGuid() == factory.TrainDatasetId);
        // An admin sees every tenant.
        using var admin = factory.Client(ApiFactory.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/jobs/{factory.JobId}")).StatusCode);
    }

    [Fact]
    public async Task An_inference_key_predicts_and_tokenizes_but_cannot_list_read_or_download()
    {
        using var inference = factory.Client(factory.KeysA[Roles.Inference]);
        foreach (var path in new[] { "/models", $"/models/{factory.ModelId}", $"/models/{factory.ModelId}/download", "/datasets", "/jobs", "/tenants/me" })
            await (await inference.GetAsync(path)).AssertProblem(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await inference.PostAsJsonAsync($"/models/{factory.ModelId}/tokenize", new { inputs = "hello" })).StatusCode);
    }

    [Fact]
    public async Task Revoked_and_expired_keys_answer_401_with_their_code()
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        var key = await ApiFactory.CreateKey(admin, factory.TenantId, "short-lived", Roles.Reader);
        using var client = factory.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/datasets")).StatusCode);

        var keys = (await admin.GetFromJsonAsync<JsonElement>($"/tenants/{factory.TenantId}/keys")).GetProperty("items").EnumerateArray().ToList();
        var listed = keys.Single(k => k.GetProperty("name").GetString() == "short-lived");
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.StartsWith(listed.GetProperty("prefix").GetString()!, key, StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("last_used_at").ValueKind);
        using (var db = factory.Db())
            Assert.DoesNotContain(db.ApiKeys.Select(k => k.Hash).ToList(), h => h == key);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/tenants/{factory.TenantId}/keys/{listed.GetProperty("id").GetGuid()}")).StatusCode);
        Assert.Equal("api_key_revoked", (await (await client.GetAsync("/datasets")).AssertProblem(HttpStatusCode.Unauthorized)).GetProperty("code").GetString());

        var expiring = await ApiFactory.CreateKey(admin, factory.TenantId, "expiring", Roles.Reader, DateTime.UtcNow.AddMinutes(5));
        using var expiringClient = factory.Client(expiring);
        Assert.Equal(HttpStatusCode.OK, (await expiringClient.GetAsync("/datasets")).StatusCode);
        using (var db = factory.Db())
            await db.ApiKeys.Where(k => k.Name == "expiring").ExecuteUpdateAsync(set => set.SetProperty(k => k.ExpiresAt, DateTime.UtcNow.AddSeconds(-1)));
        Assert.Equal("api_key_expired", (await (await expiringClient.GetAsync("/datasets")).AssertProblem(HttpStatusCode.Unauthorized)).GetProperty("code").GetString());

        using var unknown = factory.Client("fts_" + new string('0', 48));
        Assert.Equal("api_key_invalid", (await (await unknown.GetAsync("/datasets")).AssertProblem(HttpStatusCode.Unauthorized)).GetProperty("code").GetString());
        using var malformed = factory.Client(null);
        malformed.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Basic abc");
        Assert.Equal("api_key_invalid", (await (await malformed.GetAsync("/datasets")).AssertProblem(HttpStatusCode.Unauthorized)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Tenants_and_keys_are_admin_only_and_validated()
    {
        using var member = factory.CreateClient();
        await (await member.PostAsJsonAsync("/tenants", new { name = "nope" })).AssertProblem(HttpStatusCode.Forbidden);
        await (await member.GetAsync("/tenants")).AssertProblem(HttpStatusCode.Forbidden);
        await (await member.PostAsJsonAsync($"/tenants/{factory.TenantId}/keys", new { name = "x", role = "admin" })).AssertProblem(HttpStatusCode.Forbidden);

        using var admin = factory.Client(ApiFactory.AdminKey);
        await (await admin.PostAsJsonAsync("/tenants", new { name = "" })).AssertProblem(HttpStatusCode.BadRequest, "name");
        await (await admin.PostAsJsonAsync("/tenants", new { name = "tenant-b" })).AssertProblem(HttpStatusCode.Conflict);
        await (await admin.PostAsJsonAsync("/tenants", new { name = "neg", max_queued_jobs = -1 })).AssertProblem(HttpStatusCode.BadRequest, "max_queued_jobs");
        await (await admin.PostAsJsonAsync($"/tenants/{factory.TenantB}/keys", new { name = "x", role = "owner" })).AssertProblem(HttpStatusCode.BadRequest, "role");
        await (await admin.PostAsJsonAsync($"/tenants/{factory.TenantB}/keys", new { name = "x", role = "reader", expires_at = DateTime.UtcNow.AddDays(-1) }))
            .AssertProblem(HttpStatusCode.BadRequest, "expires_at");
        await (await admin.PostAsJsonAsync($"/tenants/{Guid.NewGuid()}/keys", new { name = "x", role = "reader" })).AssertProblem(HttpStatusCode.NotFound);
        await (await admin.DeleteAsync($"/tenants/{factory.TenantB}/keys/{Guid.NewGuid()}")).AssertProblem(HttpStatusCode.NotFound);

        var patched = await admin.PatchAsJsonAsync($"/tenants/{factory.TenantB}", new { max_storage_bytes = 1000 });
        Assert.Equal(1000, (await SeededApiFactory.Json(patched)).GetProperty("quotas").GetProperty("max_storage_bytes").GetInt64());
        var cleared = await SeededApiFactory.Json(await admin.PatchAsJsonAsync($"/tenants/{factory.TenantB}", new { max_storage_bytes = (long?)null }));
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("quotas").GetProperty("max_storage_bytes").ValueKind);
        Assert.Equal("tenant-b", cleared.GetProperty("name").GetString());
        var tenants = (await admin.GetFromJsonAsync<JsonElement>("/tenants")).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString());
        Assert.Superset(new HashSet<string?> { "default", "tests", "tenant-b" }, tenants.ToHashSet());

        var me = await member.GetFromJsonAsync<JsonElement>("/tenants/me");
        Assert.Equal("tests", me.GetProperty("name").GetString());
        Assert.Equal("member", me.GetProperty("role").GetString());
        Assert.True(me.GetProperty("usage").GetProperty("storage_bytes").GetInt64() > 0);
        Assert.Equal(1, me.GetProperty("usage").GetProperty("queued_jobs").GetInt32());
    }

    [Fact]
    public async Task A_shared_model_is_readable_by_every_tenant_writable_by_none_and_hides_its_lineage()
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        using var a = factory.CreateClient();
        using var b = factory.Client(factory.KeysB[Roles.Member]);
        // A model of A with lineage: a row as the worker writes it, made by A's job.
        var derived = Guid.NewGuid();
        using (var db = factory.Db())
        {
            var source = await db.Models.SingleAsync(m => m.Id == factory.ModelId);
            db.Models.Add(new FineTuneService.Platform.Persistence.Model
            {
                Id = derived, TenantId = factory.TenantId, Name = "derived", Path = source.Path, SizeBytes = 1, SourceJobId = factory.JobId,
                BaseModelId = factory.ModelId, CreatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }
        await (await a.PatchAsJsonAsync($"/models/{derived}", new { shared = true })).AssertProblem(HttpStatusCode.Forbidden);
        await (await b.GetAsync($"/models/{derived}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.True((await SeededApiFactory.Json(await admin.PatchAsJsonAsync($"/models/{derived}", new { shared = true }))).GetProperty("shared").GetBoolean());

        var seen = await b.GetFromJsonAsync<JsonElement>($"/models/{derived}");
        Assert.Equal(JsonValueKind.Null, seen.GetProperty("source_job_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, seen.GetProperty("base_model_id").ValueKind);
        Assert.Equal(factory.JobId, (await a.GetFromJsonAsync<JsonElement>($"/models/{derived}")).GetProperty("source_job_id").GetGuid());
        Assert.Contains((await b.GetFromJsonAsync<JsonElement>("/models")).GetProperty("items").EnumerateArray(), m => m.GetProperty("id").GetGuid() == derived);
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync($"/models/{derived}/download")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.PostAsJsonAsync($"/models/{derived}/tokenize", new { inputs = "hello" })).StatusCode);
        Assert.Equal("shared_model_read_only", (await (await b.DeleteAsync($"/models/{derived}")).AssertProblem(HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        await (await a.DeleteAsync($"/models/{derived}")).AssertProblem(HttpStatusCode.Forbidden);
        await (await b.GetAsync($"/jobs/{factory.JobId}")).AssertProblem(HttpStatusCode.NotFound);

        Assert.False((await SeededApiFactory.Json(await admin.PatchAsJsonAsync($"/models/{derived}", new { shared = false }))).GetProperty("shared").GetBoolean());
        await (await b.GetAsync($"/models/{derived}")).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Job_events_and_the_log_name_who_created_and_cancelled()
    {
        using var a = factory.CreateClient();
        var job = await SeededApiFactory.Accepted(a.PostAsJsonAsync("/jobs", factory.Spec()));
        Assert.Equal(HttpStatusCode.Accepted, (await a.PostAsync($"/jobs/{job}/cancel", null)).StatusCode);
        var events = (await a.GetFromJsonAsync<JsonElement>($"/jobs/{job}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Contains("Job accepted and queued; created by key 'tests-member' (tenant tests).", events);
        Assert.Contains("Cancelled before it started; by key 'tests-member' (tenant tests).", events);
    }
}
