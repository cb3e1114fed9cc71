using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>POST /jobs without a worker: what is accepted, what is refused (naming the field, leaving nothing), idempotency, cancel of a queued job.</summary>
public class JobRequestTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    JsonObject Spec() => JsonNode.Parse(JsonContent.Create(factory.Spec()).ReadAsStringAsync().Result)!.AsObject();

    [Fact]
    public async Task Valid_spec_is_202_queued_with_resolved_hyperparameters()
    {
        var response = await client.PostAsync("/jobs", Body(Spec().ToJsonString()));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await SeededApiFactory.Json(response);
        Assert.Equal("queued", job.GetProperty("status").GetString());
        Assert.Equal($"/jobs/{job.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        var hyperparameters = job.GetProperty("hyperparameters");
        Assert.Equal(1e-3, hyperparameters.GetProperty("learning_rate").GetDouble());
        Assert.True(hyperparameters.TryGetProperty("weight_decay", out _), "defaults are resolved: " + hyperparameters);
        Assert.Equal(2, hyperparameters.GetProperty("save_total_limit").GetInt32()); // Jobs:DefaultSaveTotalLimit
        Assert.Equal(0, job.GetProperty("progress").GetProperty("step").GetInt32());

        var listed = await client.GetFromJsonAsync<JsonObject>("/jobs?status=queued&type=finetune&page=1&page_size=5");
        Assert.Contains(listed!["items"]!.AsArray(), j => j!["id"]!.GetValue<string>() == job.GetProperty("id").GetString());
        var none = await client.GetFromJsonAsync<JsonObject>("/jobs?status=succeeded");
        Assert.Empty(none!["items"]!.AsArray());
    }

    public static TheoryData<string, string> BadSpecs => new()
    {
        { "malformed JSON", "body" },
        { "unknown type", "type" },
        { "unknown task", "task" },
        { "unknown dataset", "train_dataset_id" },
        { "unknown validation dataset", "validation_dataset_id" },
        { "unknown model", "base_model_id" },
        { "missing column", "columns.text" },
        { "mistyped field", "train_dataset_id" },
        { "unknown field", "epochs" },
        { "out-of-range hyperparameter", "hyperparameters.learning_rate" },
        { "mistyped hyperparameter", "hyperparameters.num_train_epochs" },
        { "unknown hyperparameter", "hyperparameters.learning_rat" },
        { "a billion epochs", "hyperparameters.num_train_epochs" },
        { "more steps than a job may run", "hyperparameters.max_steps" },
        { "a checkpoint every step", "hyperparameters.save_steps" },
        { "tf32 on a CPU", "hyperparameters.tf32" },
        { "another task's hyperparameter", "hyperparameters.mlm_probability" },
        { "a metric the task does not report", "hyperparameters.metric_for_best_model" },
    };

    string BadSpec(string why)
    {
        var spec = Spec();
        var hyperparameters = spec["hyperparameters"]!.AsObject();
        switch (why)
        {
            case "malformed JSON": return "{\"type\": \"finetune\", \"task\": ";
            case "unknown type": spec["type"] = "distill"; break;
            case "unknown task": spec["task"] = "summarization"; break;
            case "unknown dataset": spec["train_dataset_id"] = Guid.NewGuid().ToString(); break;
            case "unknown validation dataset": spec["validation_dataset_id"] = Guid.NewGuid().ToString(); break;
            case "unknown model": spec["base_model_id"] = Guid.NewGuid().ToString(); break;
            case "missing column": spec["columns"]!["text"] = "sentence"; break;
            case "mistyped field": spec["train_dataset_id"] = 5; break;
            case "unknown field": spec["epochs"] = 3; break;
            case "out-of-range hyperparameter": hyperparameters["learning_rate"] = -1; break;
            case "mistyped hyperparameter": hyperparameters["num_train_epochs"] = "three"; break;
            case "unknown hyperparameter": hyperparameters["learning_rat"] = 1e-3; break;
            case "a billion epochs": hyperparameters["num_train_epochs"] = 1e9; break;
            case "more steps than a job may run": hyperparameters["max_steps"] = 2_000_000; break;
            case "a checkpoint every step": hyperparameters["save_strategy"] = "steps"; hyperparameters["save_steps"] = 1; break;
            case "tf32 on a CPU": (spec["device"], hyperparameters["tf32"]) = ("cpu", true); break;
            case "another task's hyperparameter": hyperparameters["mlm_probability"] = 0.2; break;
            case "a metric the task does not report": hyperparameters["metric_for_best_model"] = "perplexity"; break;
        }
        return spec.ToJsonString();
    }

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Bad_spec_is_a_problem_naming_the_field_and_leaves_no_job(string why, string field)
    {
        var before = await factory.Db().Jobs.CountAsync();

        var response = await client.PostAsync("/jobs", Body(BadSpec(why)));

        await response.AssertProblem(HttpStatusCode.BadRequest, field);
        Assert.Equal(before, await factory.Db().Jobs.CountAsync());
        Assert.Empty(factory.StoredFiles("jobs"));
    }

    [Fact]
    public async Task Pretrain_spec_with_objective_hyperparameters_and_device_is_accepted_and_checked()
    {
        var corpus = Encoding.UTF8.GetBytes(string.Join("\n\n", Enumerable.Range(0, 20).Select(i => $"Document {i} begins.\nIt ends here {i}.")));
        var upload = await client.PostAsync("/datasets", DatasetTests.Upload(corpus, "corpus.txt"));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var corpusId = (await SeededApiFactory.Json(upload)).GetProperty("id").GetString();
        JsonObject Pretrain(double mlmProbability, string device = "cpu") => new()
        {
            ["type"] = "pretrain", ["task"] = "mlm", ["train_dataset_id"] = corpusId, ["validation_split"] = 0.1, ["device"] = device,
            ["model"] = new JsonObject { ["architecture"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 1, ["num_attention_heads"] = 2 },
            ["tokenizer"] = new JsonObject { ["vocab_size"] = 300 },
            ["hyperparameters"] = new JsonObject { ["max_steps"] = 5, ["mlm_probability"] = mlmProbability, ["whole_word_mask"] = true },
        };

        var accepted = await client.PostAsync("/jobs", Body(Pretrain(0.2).ToJsonString()));
        var refused = await client.PostAsync("/jobs", Body(Pretrain(2).ToJsonString()));
        var noSuchDevice = await client.PostAsync("/jobs", Body(Pretrain(0.2, device: "tpu:0").ToJsonString()));

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(0.2, (await SeededApiFactory.Json(accepted)).GetProperty("hyperparameters").GetProperty("mlm_probability").GetDouble());
        await refused.AssertProblem(HttpStatusCode.BadRequest, "hyperparameters.mlm_probability");
        await noSuchDevice.AssertProblem(HttpStatusCode.BadRequest, "device");
    }

    [Fact]
    public async Task A_validation_split_that_would_leave_a_side_empty_is_refused_naming_it()
    {
        async Task<string> Upload(string content, string name)
        {
            var upload = await client.PostAsync("/datasets", DatasetTests.Upload(Encoding.UTF8.GetBytes(content), name));
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
            return (await SeededApiFactory.Json(upload)).GetProperty("id").GetString()!;
        }
        var oneDocument = await Upload("A single document.\nWith two lines.\n", "one-document.txt");
        var oneRow = await Upload("text,label\nonly row,pos\n", "one-row.csv");
        var pretrain = new JsonObject
        {
            ["type"] = "pretrain", ["task"] = "mlm", ["train_dataset_id"] = oneDocument, ["validation_split"] = 0.02,
            ["model"] = new JsonObject { ["architecture"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 1, ["num_attention_heads"] = 2 },
            ["tokenizer"] = new JsonObject { ["vocab_size"] = 300 },
        };
        var finetune = Spec();
        finetune["train_dataset_id"] = oneRow;
        finetune["validation_split"] = 0.2;
        finetune.Remove("validation_dataset_id");

        foreach (var spec in new[] { pretrain, finetune })
        {
            var response = await client.PostAsync("/jobs", Body(spec.ToJsonString()));
            var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "validation_split");
            Assert.Contains("it has 1", problem.ToString());
        }
    }

    [Fact]
    public async Task Retry_with_the_same_idempotency_key_returns_the_first_job()
    {
        var body = Spec().ToJsonString();
        var key = Guid.NewGuid().ToString();
        async Task<HttpResponseMessage> Post(string json)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Body(json) };
            request.Headers.Add("Idempotency-Key", key);
            return await client.SendAsync(request);
        }

        var first = await SeededApiFactory.Json(await Post(body));
        var retry = await Post(body);

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(first.GetProperty("id").GetString(), (await SeededApiFactory.Json(retry)).GetProperty("id").GetString());
        Assert.Equal(1, await factory.Db().IdempotencyKeys.CountAsync(k => k.Key == key));
        var other = Spec();
        other["hyperparameters"]!["seed"] = 8;
        await (await Post(other.ToJsonString())).AssertProblem(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Concurrent_retries_with_one_idempotency_key_make_one_job()
    {
        var body = Spec().ToJsonString();
        var key = Guid.NewGuid().ToString();
        var jobsBefore = await factory.Db().Jobs.CountAsync();
        // Clients of their own, so the requests race on separate connections to the key's unique index.
        var clients = Enumerable.Range(0, 8).Select(_ => factory.CreateClient()).ToList();
        var responses = await Task.WhenAll(clients.Select(async c =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Body(body) };
            request.Headers.Add("Idempotency-Key", key);
            var response = await c.SendAsync(request);
            return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        }));

        // Each answer is the one job: a request that lost the race to the key's unique index (the insert fails once the
        // winner has committed) answers with the winner's job.
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Accepted, $"{r.StatusCode}: {r.Text}"));
        var ids = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted)
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Text).RootElement.GetProperty("id").GetString()).Distinct().ToList();
        Assert.Single(ids);
        Assert.Equal(jobsBefore + 1, await factory.Db().Jobs.CountAsync());
        Assert.Equal(1, await factory.Db().IdempotencyKeys.CountAsync(k => k.Key == key));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task Cancel_of_a_queued_job_is_immediate_and_a_second_cancel_conflicts()
    {
        var job = await SeededApiFactory.Json(await client.PostAsync("/jobs", Body(Spec().ToJsonString())));
        var id = job.GetProperty("id").GetString();

        var cancel = await client.PostAsync($"/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", (await SeededApiFactory.Json(cancel)).GetProperty("status").GetString());
        await (await client.PostAsync($"/jobs/{id}/cancel", null)).AssertProblem(HttpStatusCode.Conflict);
        await (await client.PostAsync($"/jobs/{Guid.NewGuid()}/cancel", null)).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_query_parameters_are_problems()
    {
        await (await client.GetAsync("/jobs?status=sleeping")).AssertProblem(HttpStatusCode.BadRequest, "status");
        await (await client.GetAsync("/jobs?page_size=1000")).AssertProblem(HttpStatusCode.BadRequest, "page_size");
        await (await client.GetAsync("/jobs?page=abc")).AssertProblem(HttpStatusCode.BadRequest);
        await (await client.GetAsync($"/jobs/{Guid.NewGuid()}/metrics")).AssertProblem(HttpStatusCode.NotFound);
    }
}
