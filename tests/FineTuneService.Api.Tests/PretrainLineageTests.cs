using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

/// <summary>Pretrain → fine-tune over HTTP with a real worker process: a masked-LM job from scratch on an uploaded
/// corpus makes a model; a fine-tune job starts from it; the registry shows each model's job and base model.</summary>
public class PretrainLineageTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Pretrained_model_is_the_base_of_a_fine_tune_and_both_show_their_lineage()
    {
        using var apiHost = factory.StartHost("FineTuneService.Api");
        using var worker = factory.StartWorker();
        using var api = new HttpClient { BaseAddress = await apiHost.UrlAsync(Startup) };
        string Logs() => $"api:\n{apiHost.Log}\nworker:\n{worker.Log}";

        string[] words = ["cat", "dog", "engine", "wheel", "river", "boat", "sees", "likes", "the", "near"];
        var rng = new Random(5);
        var corpus = string.Join("\n\n", Enumerable.Range(0, 60).Select(_ =>
            string.Join("\n", Enumerable.Range(0, 4).Select(_ => string.Join(' ', Enumerable.Range(0, 8).Select(_ => words[rng.Next(words.Length)])) + "."))));
        var corpusId = await SeededApiFactory.Created(api.PostAsync("/datasets", DatasetTests.Upload(Encoding.UTF8.GetBytes(corpus), "corpus.txt")));
        var pretrainJob = await Finished(api, await Accepted(api.PostAsJsonAsync("/jobs", new Dictionary<string, object?>
        {
            ["type"] = "pretrain", ["task"] = "mlm", ["train_dataset_id"] = corpusId, ["validation_split"] = 0.1,
            ["model"] = new Dictionary<string, object?>
            {
                ["architecture"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 1, ["num_attention_heads"] = 2,
                ["intermediate_size"] = 64, ["max_position_embeddings"] = 64,
            },
            ["tokenizer"] = new Dictionary<string, object?> { ["vocab_size"] = 300 },
            ["hyperparameters"] = new Dictionary<string, object?>
            {
                ["max_steps"] = 8, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 32, ["learning_rate"] = 1e-3,
                ["eval_strategy"] = "steps", ["eval_steps"] = 8, ["logging_steps"] = 4, ["save_strategy"] = "no", ["mlm_probability"] = 0.2,
            },
        })), Logs);
        var pretrainedId = pretrainJob.GetProperty("result_model_id").GetString();
        var pretrained = await api.GetFromJsonAsync<JsonElement>($"/models/{pretrainedId}");
        Assert.Equal("BertForMaskedLM", pretrained.GetProperty("architecture").GetString());
        Assert.Equal(pretrainJob.GetProperty("id").GetString(), pretrained.GetProperty("source_job_id").GetString());
        var metrics = (await api.GetFromJsonAsync<JsonElement>($"/jobs/{pretrainJob.GetProperty("id").GetString()}/metrics")).GetProperty("items").EnumerateArray();
        Assert.Superset(new HashSet<string?> { "loss", "eval_loss", "eval_perplexity", "eval_mlm_accuracy" },
            metrics.Select(m => m.GetProperty("name").GetString()).ToHashSet());

        var train = await SeededApiFactory.Created(api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(24, seed: 1), "train.csv")));
        var validation = await SeededApiFactory.Created(api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(8, seed: 2), "validation.csv")));
        var fineTuneJob = await Finished(api, await Accepted(api.PostAsJsonAsync("/jobs",
            TestData.FineTuneSpec(train, validation, Guid.Parse(pretrainedId!)))), Logs);
        var fineTuned = await api.GetFromJsonAsync<JsonElement>($"/models/{fineTuneJob.GetProperty("result_model_id").GetString()}");

        Assert.Equal("BertForSequenceClassification", fineTuned.GetProperty("architecture").GetString());
        Assert.Equal(fineTuneJob.GetProperty("id").GetString(), fineTuned.GetProperty("source_job_id").GetString());
        Assert.Equal(pretrainedId, fineTuned.GetProperty("base_model_id").GetString());
    }

    static async Task<JsonElement> Finished(HttpClient api, string id, Func<string> logs)
    {
        var job = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/jobs/{id}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(300), j => $"{j}\n{logs()}");
        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{logs()}");
        return job;
    }

    static async Task<string> Accepted(Task<HttpResponseMessage> request)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }
}
