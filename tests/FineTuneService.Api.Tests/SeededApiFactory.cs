using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

/// <summary>An <see cref="ApiFactory"/> with a train and a validation dataset uploaded and the tiny model imported.</summary>
public class SeededApiFactory : ApiFactory
{
    public Guid TrainDatasetId { get; private set; }
    public Guid ValidationDatasetId { get; private set; }
    public Guid ModelId { get; private set; }

    protected virtual int TrainRows => 48;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var client = CreateClient();
        TrainDatasetId = await Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(TrainRows, seed: 1), "train.csv")));
        ValidationDatasetId = await Created(client.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(16, seed: 2), "validation.csv")));
        ModelId = await Created(client.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
    }

    internal static async Task<Guid> Created(Task<HttpResponseMessage> request) => Guid.Parse(await Id(request, HttpStatusCode.Created));

    /// <summary>The id of a job that <c>POST /jobs</c> accepted.</summary>
    internal static Task<string> Accepted(Task<HttpResponseMessage> request) => Id(request, HttpStatusCode.Accepted);

    static async Task<string> Id(Task<HttpResponseMessage> request, HttpStatusCode status)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>A fine-tune spec on the seeded data; <paramref name="hyperparameters"/> replaces the defaults.</summary>
    public Dictionary<string, object?> Spec(Dictionary<string, object?>? hyperparameters = null) =>
        TestData.FineTuneSpec(TrainDatasetId, ValidationDatasetId, ModelId, hyperparameters);

    public static async Task<JsonElement> Json(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();
}
