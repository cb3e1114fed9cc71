using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>Quotas refuse the upload or job that would exceed them, with a stable code, and leave nothing behind.</summary>
public class QuotaTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    async Task<(HttpClient Client, Guid Tenant)> Tenant(string name, object quotas)
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        var tenant = await ApiFactory.CreateTenant(admin, name, quotas);
        return (factory.Client(await ApiFactory.CreateKey(admin, tenant, name + "-member", "member")), tenant);
    }

    [Fact]
    public async Task Storage_quota_refuses_the_upload_that_would_exceed_it_and_keeps_nothing()
    {
        var (client, tenant) = await Tenant("small", new { max_storage_bytes = 3000 });
        var first = await client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(40, seed: 1), "a.csv"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var used = (await SeededApiFactory.Json(first)).GetProperty("size_bytes").GetInt64();
        Assert.InRange(used, 1000, 2000);

        var tooBig = await client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(60, seed: 2), "b.csv"));
        var problem = await tooBig.AssertProblem(HttpStatusCode.Forbidden);
        Assert.Equal("storage_quota_exceeded", problem.GetProperty("code").GetString());
        await using (var db = factory.Db())
            Assert.Equal(1, await db.Datasets.CountAsync(d => d.TenantId == tenant));
        Assert.Empty(factory.StoredFiles("tmp"));

        var me = await client.GetFromJsonAsync<JsonElement>("/tenants/me");
        Assert.Equal(used, me.GetProperty("usage").GetProperty("storage_bytes").GetInt64());
        Assert.Equal(3000, me.GetProperty("quotas").GetProperty("max_storage_bytes").GetInt64());

        // A model import past the quota is refused the same way.
        var import = await client.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"));
        Assert.Equal("storage_quota_exceeded", (await import.AssertProblem(HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        await using (var db = factory.Db())
            Assert.Equal(0, await db.Models.CountAsync(m => m.TenantId == tenant));
        Assert.Empty(factory.StoredFiles("tmp"));
    }

    [Fact]
    public async Task Queued_jobs_quota_answers_429_and_creates_no_job()
    {
        var (client, tenant) = await Tenant("one-in-queue", new { max_queued_jobs = 1 });
        var train = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(16, seed: 1), "t.csv")));
        var validation = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 2), "v.csv")));
        var model = await SeededApiFactory.Created(client.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        var spec = TestData.FineTuneSpec(train, validation, model);
        // No worker in this test: the first job stays queued.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/jobs", spec)).StatusCode);

        var refused = await client.PostAsJsonAsync("/jobs", spec);
        Assert.Equal("queued_jobs_quota_exceeded", (await refused.AssertProblem(HttpStatusCode.TooManyRequests)).GetProperty("code").GetString());
        await using var db = factory.Db();
        Assert.Equal(1, await db.Jobs.CountAsync(j => j.TenantId == tenant));
        Assert.Equal(1, (await client.GetFromJsonAsync<JsonElement>("/tenants/me")).GetProperty("usage").GetProperty("queued_jobs").GetInt32());
    }
}
