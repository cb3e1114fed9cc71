using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

/// <summary>The hosts as deployed (real processes): production refuses to start without keys, embedded runs open only
/// on loopback, the Inference host checks keys and tenancy, logs name the caller and never the key, and a tenant's
/// max_running_jobs holds its jobs in the queue on a worker with room for more.</summary>
public class StartupRuleTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_production_host_without_a_bootstrap_key_refuses_to_start()
    {
        using var host = HostProcess.Start("FineTuneService.Inference", new Dictionary<string, string>(factory.HostSettings) { ["Auth:BootstrapAdminKey"] = "" });
        var log = await Poll.Until(() => Task.FromResult(host.Log), _ => host.HasExited, Startup, l => l);
        Assert.Contains("Auth:BootstrapAdminKey is not", log);
        Assert.DoesNotContain("Now listening on", log);
    }

    [Fact]
    public async Task Embedded_mode_runs_open_on_loopback_and_refuses_any_other_address()
    {
        using (var open = factory.StartEmbedded())
        {
            using var anonymous = new HttpClient { BaseAddress = await open.UrlAsync(Startup) };
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/datasets")).StatusCode);
            Assert.Contains("Running open", open.Log);
            // Another site's page cannot drive the open service through the visitor's browser.
            using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/datasets") { Headers = { { "Sec-Fetch-Site", "cross-site" } } };
            Assert.Equal("cross_site_request", (await (await anonymous.SendAsync(crossSite)).AssertProblem(HttpStatusCode.Forbidden)).GetProperty("code").GetString());
            using var rebound = new HttpRequestMessage(HttpMethod.Get, "/datasets") { Headers = { Host = "evil.example" } };
            Assert.Equal("host_not_allowed", (await (await anonymous.SendAsync(rebound)).AssertProblem(HttpStatusCode.BadRequest)).GetProperty("code").GetString());
        }
        using var exposed = HostProcess.Start("FineTuneService.Api", new Dictionary<string, string>(factory.HostSettings)
        {
            ["ConnectionStrings:Postgres"] = "", ["Auth:BootstrapAdminKey"] = "", ["Storage:Root"] = Path.Combine(factory.StorageRoot, "exposed"),
            ["ASPNETCORE_URLS"] = "http://0.0.0.0:0",
        });
        var log = await Poll.Until(() => Task.FromResult(exposed.Log), _ => exposed.HasExited, Startup, l => l);
        Assert.Contains("Open mode refuses to listen on", log);
    }

    [Fact]
    public async Task The_inference_host_checks_keys_and_tenancy_and_logs_never_hold_a_key()
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        var other = await ApiFactory.CreateKey(admin, await ApiFactory.CreateTenant(admin, "other"), "other-member", "member");
        var model = await SeededApiFactory.Created(factory.CreateClient().PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        using var host = factory.StartHost("FineTuneService.Inference");
        var url = await host.UrlAsync(Startup);
        using var member = factory.HostClient(url);
        using var anonymous = new HttpClient { BaseAddress = url };
        using var otherTenant = new HttpClient { BaseAddress = url, DefaultRequestHeaders = { Authorization = new("Bearer", other) } };
        var body = new { inputs = "hello world" };

        Assert.Equal(HttpStatusCode.OK, (await member.PostAsJsonAsync($"/models/{model}/tokenize", body)).StatusCode);
        await (await anonymous.PostAsJsonAsync($"/models/{model}/tokenize", body)).AssertProblem(HttpStatusCode.Unauthorized);
        await (await otherTenant.PostAsJsonAsync($"/models/{model}/tokenize", body)).AssertProblem(HttpStatusCode.NotFound);
        // The model is cached now: the cache does not bypass tenancy.
        await (await otherTenant.PostAsJsonAsync($"/models/{model}/predict", body)).AssertProblem(HttpStatusCode.NotFound);

        var log = await Poll.Until(() => Task.FromResult(host.Log), l => l.Contains("\"KeyName\":\"other-member\""), TimeSpan.FromSeconds(10), l => l);
        Assert.Contains("\"KeyName\":\"tests-member\"", log);
        Assert.DoesNotContain(factory.MemberKey, log);
        Assert.DoesNotContain(other, log);
        Assert.DoesNotContain(ApiFactory.AdminKey, log);
    }

    [Fact]
    public async Task Max_running_jobs_keeps_the_next_job_queued_until_the_first_has_finished()
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        var tenant = await ApiFactory.CreateTenant(admin, "one-at-a-time", new { max_running_jobs = 1 });
        using var client = factory.Client(await ApiFactory.CreateKey(admin, tenant, "serial", "member"));
        var train = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(32, seed: 1), "t.csv")));
        var validation = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 2), "v.csv")));
        var model = await SeededApiFactory.Created(client.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        var first = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", TestData.FineTuneSpec(train, validation, model)));
        var second = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", TestData.FineTuneSpec(train, validation, model)));

        // Two devices: without the quota both jobs would run at once.
        using var worker = HostProcess.Start("FineTuneService.Worker", new Dictionary<string, string>(factory.HostSettings) { ["Worker:Devices"] = "cpu,cpu" });
        var jobs = new List<JsonElement>();
        foreach (var id in new[] { first, second }) jobs.Add(await Poll.Succeeded(client, id, () => worker.Log));

        var (earlier, later) = jobs[0].GetProperty("started_at").GetDateTime() < jobs[1].GetProperty("started_at").GetDateTime() ? (jobs[0], jobs[1]) : (jobs[1], jobs[0]);
        Assert.True(later.GetProperty("started_at").GetDateTime() >= earlier.GetProperty("finished_at").GetDateTime(), $"{earlier}\n{later}");
        var events = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{later.GetProperty("id").GetString()}/events")).GetProperty("items")
            .EnumerateArray().Select(e => e.GetProperty("message").GetString()).ToList();
        Assert.Single(events, "Waiting: the tenant already runs its max_running_jobs.");
    }
}
