using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Platform.Persistence;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Api.Tests;

/// <summary>The Api host and a worker process on PostgreSQL, with <c>Hub:Endpoint</c> pointing at a <see cref="FakeHub"/>
/// on loopback that serves the committed RoBERTa fixture (<c>tests/fixtures/hf-tiny-random/roberta</c>).</summary>
public sealed class HubApiFactory : ApiFactory
{
    public const string GlobalToken = "hf_global_test_token";
    public const string DefaultTenantToken = "hf_default_tenant_token";

    public FakeHub Hub { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Hub:Endpoint"] = Hub.Endpoint.ToString(),
        ["Hub:Token"] = GlobalToken,
        [$"Hub:TenantTokens:{Tenant.DefaultId}"] = DefaultTenantToken,
        ["Storage:MaxModelBytes"] = (4L << 20).ToString(),
    };

    public override async Task InitializeAsync()
    {
        Hub = await FakeHub.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Hub.DisposeAsync();
    }
}

public class HubImportTests(HubApiFactory factory) : IClassFixture<HubApiFactory>
{
    const string RepoId = "fts-tests/tiny-roberta";
    static readonly string Fixture = Path.Combine(RepoPaths.Root, "tests", "fixtures", "hf-tiny-random", "roberta");
    static readonly string[] Probes = ["the film was really superb", "the plot was really awful"];

    /// <summary>The fixture's config and weights, a WordPiece tokenizer that fits its 130-row embedding, and what a real
    /// repo also holds and an import must never fetch (pickled weights, a README, a subfolder).</summary>
    static Dictionary<string, byte[]> RobertaFiles()
    {
        var lines = System.Text.Encoding.UTF8.GetString(TestData.SentimentCsv(100, seed: 5)).Split('\n').Skip(1).Select(l => l.Split(',')[0]);
        var tokenizer = WordPieceTrainer.Train(lines, vocabSize: 120, lowercase: true, minFrequency: 1);
        var dir = Path.Combine(Path.GetTempPath(), "fts-tests", $"hub-tokenizer-{Guid.NewGuid():N}");
        tokenizer.Save(dir);
        var files = Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Directory.Delete(dir, recursive: true);
        files["config.json"] = File.ReadAllBytes(Path.Combine(Fixture, "config.json"));
        files["model.safetensors"] = File.ReadAllBytes(Path.Combine(Fixture, "model.safetensors"));
        files["pytorch_model.bin"] = [0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e];
        files["README.md"] = "# tiny roberta"u8.ToArray();
        files[".gitattributes"] = "*.safetensors filter=lfs diff=lfs merge=lfs -text"u8.ToArray();
        files["onnx/model.onnx"] = [1, 2, 3];
        return files;
    }

    static HttpContent Pull(object body) => JsonContent.Create(body);

    [Fact]
    public async Task Pulls_by_id_through_the_cdn_redirect_resumes_a_dropped_download_records_the_commit_and_predicts()
    {
        var hub = factory.Hub;
        var files = RobertaFiles();
        var commit = FakeHub.Commit("tiny-roberta");
        hub.Repos[RepoId] = new FakeHub.Repo(commit, files);
        var weightsSha = FakeHub.Sha256(files["model.safetensors"]);
        hub.DropOnce[weightsSha] = true;
        using var worker = factory.StartWorker();
        var api = factory.CreateClient();

        var response = await api.PostAsync("/models/import", Pull(new { hub_id = RepoId, revision = "main" }));
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, accepted.ToString());
        var id = accepted.GetProperty("id").GetString()!;
        Assert.Equal($"/models/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("importing", accepted.GetProperty("status").GetString());
        Assert.Equal("roberta", accepted.GetProperty("model_type").GetString());
        Assert.Equal(commit, accepted.GetProperty("hub").GetProperty("commit_sha").GetString());
        var model = await Ready(api, id, worker);

        Assert.Equal(RepoId, model.GetProperty("hub").GetProperty("id").GetString());
        Assert.Equal("main", model.GetProperty("hub").GetProperty("revision").GetString());
        Assert.Equal(commit, model.GetProperty("hub").GetProperty("commit_sha").GetString());
        var total = files.Where(f => f.Key is not ("pytorch_model.bin" or "README.md" or ".gitattributes" or "onnx/model.onnx")).Sum(f => (long)f.Value.Length);
        Assert.Equal(total, model.GetProperty("progress").GetProperty("bytes_total").GetInt64());
        Assert.Equal(total, model.GetProperty("progress").GetProperty("bytes_done").GetInt64());
        Assert.Equal(["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"],
            model.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).Order(StringComparer.Ordinal));

        // Only what a model needs was asked for; the weights came from the CDN, without the token, resumed after the drop.
        var seen = hub.Requests.ToList();
        Assert.DoesNotContain(seen, r => r.Path.Contains("pytorch_model.bin") || r.Path.Contains("README.md") || r.Path.Contains("onnx"));
        Assert.All(seen.Where(r => r.Origin == "hub" && r.Path.Contains(RepoId)), r => Assert.Equal($"Bearer {HubApiFactory.GlobalToken}", r.Authorization));
        var cdn = seen.Where(r => r.Origin == "cdn" && r.Path.EndsWith(weightsSha, StringComparison.Ordinal)).ToList();
        Assert.All(cdn, r => Assert.Null(r.Authorization));
        Assert.Equal(2, cdn.Count);
        Assert.Null(cdn[0].Range);
        var resumedAt = long.Parse(cdn[1].Range!.Replace("bytes=", "").TrimEnd('-'));
        Assert.InRange(resumedAt, 1, files["model.safetensors"].Length / 2);

        // The cache, in Hugging Face's layout: snapshot links to blobs named by their hashes, the ref to the commit.
        var repoCache = Path.Combine(factory.StorageRoot, "hub", "models--fts-tests--tiny-roberta");
        var link = new FileInfo(Path.Combine(repoCache, "snapshots", commit, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", weightsSha), link.LinkTarget);
        Assert.Equal(weightsSha, FakeHub.Sha256(File.ReadAllBytes(Path.Combine(repoCache, "blobs", weightsSha))));
        Assert.Equal(FakeHub.GitSha1(files["config.json"]), new FileInfo(Path.Combine(repoCache, "snapshots", commit, "config.json")).LinkTarget![^40..]);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(repoCache, "refs", "main")));
        Assert.Empty(Directory.GetFiles(Path.Combine(repoCache, "blobs"), "*.incomplete"));
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(factory.StorageRoot, "models", Guid.Parse(id).ToString("N"), "model.safetensors")));

        // The pulled model serves.
        var predicted = await Predict(api, id);
        Assert.All(predicted, p => Assert.Equal(1.0, p.GetProperty("scores").EnumerateObject().Sum(s => s.Value.GetDouble()), 4));

        // A second pull of the commit comes from the cache (the Hub is still asked, so access is checked every time).
        var before = hub.Requests.Count(r => r.Origin == "cdn" && r.Path.EndsWith(weightsSha, StringComparison.Ordinal));
        var again = await api.PostAsync("/models/import", Pull(new { hub_id = RepoId, revision = commit, name = "again" }));
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var second = await Ready(api, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, worker);
        Assert.Equal(before, hub.Requests.Count(r => r.Origin == "cdn" && r.Path.EndsWith(weightsSha, StringComparison.Ordinal)));
        Assert.Equal(predicted.Select(p => p.ToString()), (await Predict(api, second.GetProperty("id").GetString()!)).Select(p => p.ToString()));

        // The same weights in two shards with their index (as large models are published) import and predict the same.
        var sharded = files.Where(f => f.Key != "model.safetensors").ToDictionary();
        foreach (var (name, content) in Sharded(files["model.safetensors"])) sharded[name] = content;
        hub.Repos["fts-tests/sharded"] = new FakeHub.Repo(FakeHub.Commit("sharded"), sharded);
        var shardedPull = await api.PostAsync("/models/import", Pull(new { hub_id = "fts-tests/sharded" }));
        Assert.Equal(HttpStatusCode.Accepted, shardedPull.StatusCode);
        var third = await Ready(api, (await shardedPull.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, worker);
        Assert.Contains("model-00002-of-00002.safetensors", third.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(predicted.Select(p => p.ToString()), (await Predict(api, third.GetProperty("id").GetString()!)).Select(p => p.ToString()));

        // A listing without sizes reserves nothing up front: what arrives must still fit the tenant's quota, or nothing is kept.
        hub.Repos["fts-tests/unsized"] = new FakeHub.Repo(FakeHub.Commit("unsized"), files, Unsized: true);
        using var admin = factory.Client(ApiFactory.AdminKey);
        var small = await ApiFactory.CreateTenant(admin, "hub-small", new { max_storage_bytes = 50_000 });
        using var smallClient = factory.Client(await ApiFactory.CreateKey(admin, small, "hub-small-member", "member"));
        var unsized = await smallClient.PostAsync("/models/import", Pull(new { hub_id = "fts-tests/unsized" }));
        Assert.Equal(HttpStatusCode.Accepted, unsized.StatusCode);
        var unsizedId = (await unsized.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var overQuota = await Poll.Until(() => smallClient.GetFromJsonAsync<JsonElement>($"/models/{unsizedId}"),
            m => m.GetProperty("status").GetString() != "importing", TimeSpan.FromSeconds(60), m => $"{m}\n{worker.Log}", intervalMs: 200);
        Assert.StartsWith("storage_quota_exceeded:", overQuota.GetProperty("error").GetString());
        Assert.Equal(0, overQuota.GetProperty("size_bytes").GetInt64());
        Assert.Empty(overQuota.GetProperty("files").EnumerateArray());

        // Bytes that do not hash to their ETag fail the import, and nothing of them is kept (nor counted against the quota).
        var other = new Dictionary<string, byte[]>(files) { ["model.safetensors"] = Tagged(files["model.safetensors"], "corrupt") };
        var otherSha = FakeHub.Sha256(other["model.safetensors"]);
        hub.Repos["fts-tests/corrupt"] = new FakeHub.Repo(FakeHub.Commit("corrupt"), other);
        hub.Corrupt[otherSha] = true;
        var corrupt = await api.PostAsync("/models/import", Pull(new { hub_id = "fts-tests/corrupt" }));
        Assert.Equal(HttpStatusCode.Accepted, corrupt.StatusCode);
        var corruptId = (await corrupt.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var failed = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/models/{corruptId}"),
            m => m.GetProperty("status").GetString() != "importing", TimeSpan.FromSeconds(60), m => $"{m}\n{worker.Log}", intervalMs: 200);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.StartsWith("hub_checksum_mismatch:", failed.GetProperty("error").GetString());
        Assert.Equal(0, failed.GetProperty("size_bytes").GetInt64());
        Assert.Empty(failed.GetProperty("files").EnumerateArray());
        var corruptBlobs = Path.Combine(factory.StorageRoot, "hub", "models--fts-tests--corrupt", "blobs");
        Assert.DoesNotContain(Directory.GetFiles(corruptBlobs), f => f.Contains(otherSha, StringComparison.Ordinal));
        var predictFailed = await api.PostAsJsonAsync($"/models/{corruptId}/predict", new { inputs = Probes });
        Assert.Equal("model_not_ready", (await predictFailed.AssertProblem(HttpStatusCode.Conflict)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Gated_missing_pickle_only_unsupported_oversized_and_hostile_repos_are_refused_before_anything_is_stored()
    {
        var hub = factory.Hub;
        var files = RobertaFiles();
        var api = factory.CreateClient();
        var modelsBefore = factory.StoredFiles("models").Count;
        hub.Repos["fts-tests/gated"] = new FakeHub.Repo(FakeHub.Commit("gated"), files, Token: HubApiFactory.DefaultTenantToken);
        hub.Repos["fts-tests/pickles"] = new FakeHub.Repo(FakeHub.Commit("pickles"),
            files.Where(f => f.Key != "model.safetensors").ToDictionary());
        hub.Repos["fts-tests/deberta"] = new FakeHub.Repo(FakeHub.Commit("deberta"), new Dictionary<string, byte[]>(files)
        {
            ["config.json"] = """{"model_type": "deberta-v2", "architectures": ["DebertaV2ForSequenceClassification"]}"""u8.ToArray(),
        });
        hub.Repos["fts-tests/huge"] = new FakeHub.Repo(FakeHub.Commit("huge"), files,
            ListedSizes: new Dictionary<string, long> { ["model.safetensors"] = 5L << 20 });
        hub.Repos["fts-tests/hostile"] = new FakeHub.Repo(FakeHub.Commit("hostile"), files,
            Etags: new Dictionary<string, string> { ["config.json"] = "../../../../escape" });

        async Task<string> Refused(object body, HttpStatusCode status, string code, HttpClient? client = null)
        {
            var problem = await (await (client ?? api).PostAsync("/models/import", Pull(body))).AssertProblem(status);
            Assert.True(problem.GetProperty("code").GetString() == code, problem.ToString());
            return problem.ToString();
        }

        // Inputs that would name paths or URLs are refused before the Hub is asked.
        var asked = hub.Requests.Count;
        foreach (var bad in new[] { "../etc/passwd", "org/../name", "org--x/name", "a/b/c", "/abs", "org/name?x=1", "", new string('a', 97) })
            await (await api.PostAsync("/models/import", Pull(new { hub_id = bad }))).AssertProblem(HttpStatusCode.BadRequest, "hub_id");
        foreach (var bad in new[] { "../main", "main/..", "a//b", "/main", "x y", "main%2F..", new string('a', 300) })
            await (await api.PostAsync("/models/import", Pull(new { hub_id = RepoId, revision = bad }))).AssertProblem(HttpStatusCode.BadRequest, "revision");
        await (await api.PostAsync("/models/import", Pull(new { hub_id = 5 }))).AssertProblem(HttpStatusCode.BadRequest, "hub_id");
        await (await api.PostAsync("/models/import", Pull(new { hub_id = RepoId, token = "x" }))).AssertProblem(HttpStatusCode.BadRequest, "token");
        await (await api.PostAsync("/models/import", new StringContent(new string(' ', 20_000) + "{}", System.Text.Encoding.UTF8, "application/json")))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(asked, hub.Requests.Count);

        Assert.Contains("gated", await Refused(new { hub_id = "fts-tests/gated" }, HttpStatusCode.Forbidden, "hub_repo_gated"));
        await Refused(new { hub_id = "fts-tests/nothing-here" }, HttpStatusCode.NotFound, "hub_repo_not_found");
        await Refused(new { hub_id = "fts-tests/pickles" }, HttpStatusCode.BadRequest, "hub_no_safetensors");
        await Refused(new { hub_id = "fts-tests/pickles", revision = "v9" }, HttpStatusCode.NotFound, "hub_revision_not_found");
        Assert.Contains("deberta-v2", await Refused(new { hub_id = "fts-tests/deberta" }, HttpStatusCode.BadRequest, "unsupported_architecture"));
        await Refused(new { hub_id = "fts-tests/huge" }, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await Refused(new { hub_id = "fts-tests/hostile" }, HttpStatusCode.BadGateway, "hub_protocol_error");

        // A tenant's storage quota counts the announced size.
        using var admin = factory.Client(ApiFactory.AdminKey);
        var tiny = await ApiFactory.CreateTenant(admin, "hub-tiny", new { max_storage_bytes = 1000 });
        using var tinyClient = factory.Client(await ApiFactory.CreateKey(admin, tiny, "hub-tiny-member", "member"));
        hub.Repos[RepoId] = new FakeHub.Repo(FakeHub.Commit("tiny-roberta"), files);
        await Refused(new { hub_id = RepoId }, HttpStatusCode.Forbidden, "storage_quota_exceeded", tinyClient);

        Assert.Equal(modelsBefore, factory.StoredFiles("models").Count);
        Assert.DoesNotContain(factory.StoredFiles("hub"), f => !f.Contains("models--fts-tests--", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(factory.StorageRoot, "escape")));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(factory.StorageRoot)!, "escape")));

        // The default tenant's own token opens the gated repo (and only it was sent); its row shows the import.
        var gated = await admin.PostAsync("/models/import", Pull(new { hub_id = "fts-tests/gated" }));
        var body = await gated.Content.ReadAsStringAsync();
        Assert.True(gated.StatusCode == HttpStatusCode.Accepted, body);
        Assert.Contains(hub.Requests, r => r.Path.Contains("fts-tests/gated") && r.Authorization == $"Bearer {HubApiFactory.DefaultTenantToken}");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        // Not ready yet (no worker runs in this test): it is neither served nor a base for jobs, and can be deleted.
        var predict = await admin.PostAsJsonAsync($"/models/{id}/predict", new { inputs = Probes });
        Assert.Equal("model_not_ready", (await predict.AssertProblem(HttpStatusCode.Conflict)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/models/{id}")).StatusCode);
    }

    [Fact]
    public async Task An_embedded_host_killed_mid_download_resumes_the_pull_with_range_after_its_restart()
    {
        var hub = factory.Hub;
        var files = RobertaFiles();
        files["model.safetensors"] = Tagged(files["model.safetensors"], "crash"); // a blob of its own
        hub.Repos["fts-tests/crash"] = new FakeHub.Repo(FakeHub.Commit("crash"), files);
        var sha = FakeHub.Sha256(files["model.safetensors"]);
        var stall = hub.Stall[sha] = new TaskCompletionSource();
        string id;
        long done;
        using (var first = factory.StartEmbedded())
        {
            using var api = new HttpClient { BaseAddress = await first.UrlAsync(TimeSpan.FromSeconds(120)) };
            var response = await api.PostAsync("/models/import", Pull(new { hub_id = "fts-tests/crash" }));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
            id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
            // Half the weights have landed (progress says so), then the process dies: SIGKILL, nothing cleaned up.
            var half = files["model.safetensors"].Length / 2;
            var importing = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/models/{id}"),
                m => m.GetProperty("progress").GetProperty("bytes_done").GetInt64() >= half, TimeSpan.FromSeconds(60), m => $"{m}\n{first.Log}", intervalMs: 200);
            done = importing.GetProperty("progress").GetProperty("bytes_done").GetInt64();
            first.Kill();
        }
        stall.SetResult();
        var partial = Path.Combine(factory.StorageRoot, "embedded", "hub", "models--fts-tests--crash", "blobs", sha + ".incomplete");
        Assert.True(new FileInfo(partial).Length > 0);

        using var second = factory.StartEmbedded();
        using var again = new HttpClient { BaseAddress = await second.UrlAsync(TimeSpan.FromSeconds(120)) };
        var model = await Ready(again, id, second);
        Assert.True(model.GetProperty("progress").GetProperty("bytes_done").GetInt64() > done);
        var resumed = hub.Requests.Where(r => r.Origin == "cdn" && r.Path.EndsWith(sha, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, resumed.Count);
        Assert.Null(resumed[0].Range);
        Assert.StartsWith("bytes=", resumed[1].Range);
        Assert.False(File.Exists(partial));
        var predicted = await Predict(again, id);
        Assert.Equal(Probes.Length, predicted.Count);
    }

    [Fact]
    public async Task A_host_refuses_to_start_with_a_hub_endpoint_the_token_would_cross_in_clear()
    {
        using var host = HostProcess.Start("FineTuneService.Inference",
            new Dictionary<string, string>(factory.HostSettings) { ["Hub:Endpoint"] = "http://hub.example.com" });
        var log = await Poll.Until(() => Task.FromResult(host.Log), _ => host.HasExited, TimeSpan.FromSeconds(120), l => l);
        Assert.Contains("Hub:Endpoint: an absolute https URL", log);
        Assert.DoesNotContain("Now listening on", log);
    }

    /// <summary>The checkpoint split in two shards with a <c>model.safetensors.index.json</c>, as <c>save_pretrained</c>
    /// writes a large model.</summary>
    static Dictionary<string, byte[]> Sharded(byte[] safetensors)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "fts-tests", $"hub-shards-{Guid.NewGuid():N}")).FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "whole.safetensors"), safetensors);
            var tensors = SafeTensors.Load(Path.Combine(dir, "whole.safetensors"));
            var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
            var map = new System.Text.Json.Nodes.JsonObject();
            var files = new Dictionary<string, byte[]>();
            for (var shard = 1; shard <= 2; shard++)
            {
                var name = $"model-{shard:00000}-of-00002.safetensors";
                var part = names.Where((_, i) => i % 2 == shard - 1).ToDictionary(n => n, n => tensors[n]);
                SafeTensors.Save(Path.Combine(dir, name), part);
                foreach (var tensor in part.Keys) map[tensor] = name;
                files[name] = File.ReadAllBytes(Path.Combine(dir, name));
            }
            foreach (var tensor in tensors.Values) tensor.Dispose();
            var index = new System.Text.Json.Nodes.JsonObject
            {
                ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["total_size"] = files.Values.Sum(f => (long)f.Length) },
                ["weight_map"] = map,
            };
            files[SafeTensors.IndexFileName] = System.Text.Encoding.UTF8.GetBytes(index.ToJsonString());
            return files;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The same weights under another header (a <c>__metadata__</c> entry), so the blob's hash is its own.</summary>
    static byte[] Tagged(byte[] safetensors, string tag)
    {
        var length = (int)BitConverter.ToUInt64(safetensors, 0);
        var header = System.Text.Json.Nodes.JsonNode.Parse(safetensors.AsSpan(8, length))!.AsObject();
        header["__metadata__"] = new System.Text.Json.Nodes.JsonObject { ["format"] = "pt", ["tag"] = tag };
        var bytes = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        return [.. BitConverter.GetBytes((ulong)bytes.Length), .. bytes, .. safetensors.AsSpan(8 + length)];
    }

    static async Task<JsonElement> Ready(HttpClient api, string id, HostProcess worker)
    {
        var model = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/models/{id}"),
            m => m.GetProperty("status").GetString() != "importing", TimeSpan.FromSeconds(120), m => $"{m}\n{worker.Log}", intervalMs: 200);
        Assert.True(model.GetProperty("status").GetString() == "ready", $"{model}\n{worker.Log}");
        return model;
    }

    static async Task<List<JsonElement>> Predict(HttpClient api, string modelId)
    {
        var response = await api.PostAsJsonAsync($"/models/{modelId}/predict", new { inputs = Probes });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("predictions").EnumerateArray().ToList();
    }
}
