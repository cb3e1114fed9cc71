using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 1 at <c>POST /jobs</c>: a pretrain shape over the budget is refused naming its field before
/// anything is built, while a base model within it is accepted.</summary>
public class BoundedJobShapeTests(BoundedJobShapeTests.Factory factory) : IClassFixture<BoundedJobShapeTests.Factory>
{
    public sealed class Factory : SeededApiFactory
    {
        // The tiny model (2 layers, hidden 32: ~20 k parameters, 80 KB) fits; a hidden-256 shape (~6 MB) does not.
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Models:MaxLayers"] = "4", ["Models:MaxParameterBytes"] = "1000000",
        };
    }

    readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Shapes_over_the_budget_are_refused_naming_the_field()
    {
        var corpus = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(Encoding.UTF8.GetBytes(TestData.Corpus(8, seed: 3)), "corpus.txt")));
        JsonObject Pretrain(int layers, int hidden) => new()
        {
            ["type"] = "pretrain", ["task"] = "mlm", ["train_dataset_id"] = corpus.ToString(), ["validation_split"] = 0.2,
            ["model"] = new JsonObject { ["architecture"] = "bert", ["hidden_size"] = hidden, ["num_hidden_layers"] = layers, ["num_attention_heads"] = 2, ["intermediate_size"] = 64 },
            ["tokenizer"] = new JsonObject { ["vocab_size"] = 300 },
            ["hyperparameters"] = new JsonObject { ["max_steps"] = 1 },
        };
        var before = await factory.Db().Jobs.CountAsync();

        var layers = await (await client.PostAsJsonAsync("/jobs", Pretrain(2000, 32))).AssertProblem(HttpStatusCode.BadRequest, "model.num_hidden_layers");
        Assert.Contains("Models:MaxLayers", layers.GetProperty("errors").GetProperty("model.num_hidden_layers")[0].GetString());
        await (await client.PostAsJsonAsync("/jobs", Pretrain(2, 256))).AssertProblem(HttpStatusCode.BadRequest, "model");

        Assert.Equal(before, await factory.Db().Jobs.CountAsync());
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/jobs", factory.Spec())).StatusCode);
    }
}
