using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 5: predict and tokenize are sized before they cost — characters, tokens, [MASK]s, top_k and
/// masks × top_k per request are 400s naming the field; a full queue and a spent rate limit are 429 with Retry-After.
/// Each test uses an API key of its own, so each is its own client for the rate limiter.</summary>
public class InferenceBoundsTests(InferenceBoundsTests.Factory factory) : IClassFixture<InferenceBoundsTests.Factory>
{
    public sealed class Factory : ApiFactory
    {
        public Guid ModelId { get; private set; }

        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Inference:MaxCharactersPerRequest"] = "4000", ["Inference:MaxTokensPerRequest"] = "64", ["Inference:MaxMasksPerInput"] = "4",
            ["Inference:MaxTopK"] = "10", ["Inference:MaxMaskCandidatesPerRequest"] = "12", ["Inference:MaxQueuedRequestsPerModel"] = "1",
            ["Inference:RequestsPerSecondPerClient"] = "0.001", ["Inference:BurstPerClient"] = "40",
        };

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            ModelId = await SeededApiFactory.Created(CreateClient().PostAsync("/models/import",
                TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        }
    }

    /// <summary>A client with an API key of its own: its own partition of the rate limiter.</summary>
    HttpClient Client()
    {
        using var admin = factory.Client(ApiFactory.AdminKey);
        return factory.Client(ApiFactory.CreateKey(admin, factory.TenantId, "inference-" + Guid.NewGuid().ToString("N")[..8], "member").Result);
    }

    Task<HttpResponseMessage> Predict(HttpClient client, JsonObject body) => client.PostAsJsonAsync($"/models/{factory.ModelId}/predict", body);

    static string Words(int count) => string.Join(" ", Enumerable.Range(0, count).Select(i => i % 2 == 0 ? "good" : "movie"));

    public static TheoryData<string, string, string> Oversized => new()
    {
        { "predict", "a 5,000-character input", "inputs" },
        { "tokenize", "a 5,000-character input", "inputs" },
        { "predict", "two inputs of 64 tokens", "inputs" },
        { "tokenize", "two inputs of 64 tokens", "inputs" },
        { "predict", "5 [MASK]s in one input", "inputs[1]" },
        { "predict", "3 [MASK]s × top_k 5", "top_k" },
        { "predict", "top_k 11", "top_k" },
    };

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task Oversized_requests_are_400s_naming_the_field(string endpoint, string why, string field)
    {
        JsonNode inputs = why switch
        {
            "a 5,000-character input" => new string('a', 5000),
            "two inputs of 64 tokens" => new JsonArray("[MASK] " + Words(80), "[MASK] " + Words(80)),
            "5 [MASK]s in one input" => new JsonArray("the [MASK] was good", "[MASK] [MASK] [MASK] [MASK] [MASK]"),
            "3 [MASK]s × top_k 5" => "[MASK] [MASK] [MASK] was good",
            _ => "the movie was [MASK]",
        };
        var body = new JsonObject { ["inputs"] = inputs };
        if (why == "top_k 11") body["top_k"] = 11;

        var response = await Client().PostAsJsonAsync($"/models/{factory.ModelId}/{endpoint}", body);

        await response.AssertProblem(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Within_the_limits_is_answered()
    {
        var response = await Predict(Client(), new JsonObject { ["inputs"] = "[MASK] [MASK] was good", ["top_k"] = 6 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var masks = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions")[0].GetProperty("masks");
        Assert.Equal(2, masks.GetArrayLength());
        Assert.Equal(6, masks[0].GetProperty("candidates").GetArrayLength());
    }

    [Fact]
    public async Task A_full_queue_is_429_with_retry_after()
    {
        var client = Client();
        var body = new JsonObject { ["inputs"] = new JsonArray([.. Enumerable.Range(0, 4).Select(_ => (JsonNode)"the movie was [MASK] and good")]), ["top_k"] = 1 };
        // One request may wait per model: of a crowd of 24 sent at once, some find the queue full.
        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Predict(client, body.DeepClone().AsObject())));

        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, a.Content.ReadAsStringAsync().Result));
        var refused = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
        var problem = await refused[0].AssertProblem(HttpStatusCode.TooManyRequests);
        Assert.Equal("too_many_requests", problem.GetProperty("code").GetString());
        Assert.True(refused[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_client_past_its_rate_limit_is_429_with_retry_after_and_others_are_not()
    {
        var greedy = Client();
        var answers = new List<HttpResponseMessage>();
        for (int i = 0; i < 41; i++) answers.Add(await greedy.PostAsJsonAsync($"/models/{factory.ModelId}/tokenize", new JsonObject { ["inputs"] = "good" }));

        Assert.All(answers.Take(40), a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        await answers[40].AssertProblem(HttpStatusCode.TooManyRequests);
        Assert.NotNull(answers[40].Headers.RetryAfter);
        var other = await Client().PostAsJsonAsync($"/models/{factory.ModelId}/tokenize", new JsonObject { ["inputs"] = "good" });
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }
}
