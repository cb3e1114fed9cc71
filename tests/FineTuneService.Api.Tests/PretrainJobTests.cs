using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

/// <summary>Both pretraining objectives from scratch as jobs through the API, in both deployments: PostgreSQL with a
/// worker process, and embedded (SQLite, in-process worker). Each job trains a tokenizer and a tiny model on an
/// uploaded corpus; its model then predicts over HTTP and shows the job that made it.</summary>
public class PretrainJobTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);
    const int Documents = 80;

    [Fact]
    public async Task Mlm_nsp_and_clm_jobs_run_with_postgresql_and_a_worker_process()
    {
        using var worker = factory.StartWorker();
        await PretrainBothAndPredict(factory.CreateClient(), () => worker.Log);
    }

    [Fact]
    public async Task Mlm_nsp_and_clm_jobs_run_embedded()
    {
        using var host = factory.StartEmbedded();
        using var api = new HttpClient { BaseAddress = await host.UrlAsync(Startup) };
        await PretrainBothAndPredict(api, () => host.Log);
    }

    static async Task PretrainBothAndPredict(HttpClient api, Func<string> logs)
    {
        var upload = await api.PostAsync("/datasets", DatasetTests.Upload(Encoding.UTF8.GetBytes(TestData.Corpus(Documents, seed: 3)), "corpus.txt"));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var corpus = await SeededApiFactory.Json(upload);
        Assert.Equal(Documents, corpus.GetProperty("num_documents").GetInt64());
        var corpusId = corpus.GetProperty("id").GetString();
        Dictionary<string, object?> Spec(string task, Dictionary<string, object?> model) => new()
        {
            ["type"] = "pretrain", ["task"] = task, ["train_dataset_id"] = corpusId, ["validation_split"] = 0.1,
            ["model"] = model,
            ["tokenizer"] = new Dictionary<string, object?> { ["vocab_size"] = 300 },
            ["hyperparameters"] = new Dictionary<string, object?>
            {
                ["max_steps"] = 30, ["per_device_train_batch_size"] = 16, ["max_seq_length"] = 32, ["learning_rate"] = 5e-3,
                ["warmup_ratio"] = 0.1, ["logging_steps"] = 5, ["eval_strategy"] = "steps", ["eval_steps"] = 30, ["save_strategy"] = "no",
            },
        };
        var mlmNsp = await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs", Spec("mlm_nsp", new()
        {
            ["architecture"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 2,
            ["intermediate_size"] = 64, ["max_position_embeddings"] = 32,
        })));
        var clm = await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs", Spec("clm", new()
        {
            ["architecture"] = "gpt2", ["n_embd"] = 32, ["n_layer"] = 2, ["n_head"] = 2, ["n_positions"] = 32,
        })));

        var bert = await AssertPretrained(api, mlmNsp, "BertForPreTraining", ["eval_loss", "eval_mlm_accuracy", "eval_nsp_accuracy"], logs);
        var masks = (await Predict(api, bert, new { inputs = "the cat sees the [MASK] near the garden.", top_k = 3 }, logs))
            .GetProperty("masks").EnumerateArray().ToList();
        var candidates = Assert.Single(masks).GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(3, candidates.Count);
        Assert.All(candidates, c => Assert.False(string.IsNullOrWhiteSpace(c.GetProperty("token").GetString())));
        var scores = candidates.Select(c => c.GetProperty("score").GetDouble()).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);

        var gpt2 = await AssertPretrained(api, clm, "GPT2LMHeadModel", ["eval_loss", "eval_perplexity"], logs);
        var sampling = new { inputs = "the boat", max_new_tokens = 8, temperature = 1.0, top_k = 20, seed = 7 };
        var first = (await Predict(api, gpt2, sampling, logs)).GetProperty("generated_text").GetString();
        var again = (await Predict(api, gpt2, sampling, logs)).GetProperty("generated_text").GetString();
        Assert.StartsWith("the boat", first);
        Assert.Equal(first, again);
    }

    /// <summary>The job succeeded, its loss fell and it reported <paramref name="evalMetrics"/>; its model is the
    /// architecture asked for, made by this job from no base model. Returns the model's id.</summary>
    static async Task<string> AssertPretrained(HttpClient api, string jobId, string architecture, string[] evalMetrics, Func<string> logs)
    {
        var job = await Poll.Succeeded(api, jobId, logs);
        var metrics = (await api.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}/metrics")).GetProperty("items").EnumerateArray().ToList();
        Assert.Superset(evalMetrics.ToHashSet(), metrics.Select(m => m.GetProperty("name").GetString()!).ToHashSet());
        var losses = metrics.Where(m => m.GetProperty("name").GetString() == "loss").Select(m => m.GetProperty("value").GetDouble()).ToList();
        Assert.True(losses.Count >= 2 && losses[^1] < losses[0], $"{architecture} loss did not fall: {string.Join(", ", losses)}");

        var modelId = job.GetProperty("result_model_id").GetString()!;
        var model = await api.GetFromJsonAsync<JsonElement>($"/models/{modelId}");
        Assert.Equal(architecture, model.GetProperty("architecture").GetString());
        Assert.Equal(jobId, model.GetProperty("source_job_id").GetString());
        Assert.Equal(JsonValueKind.Null, model.GetProperty("base_model_id").ValueKind);
        return modelId;
    }

    static async Task<JsonElement> Predict(HttpClient api, string modelId, object body, Func<string> logs)
    {
        var response = await api.PostAsJsonAsync($"/models/{modelId}/predict", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}\n{logs()}");
        return Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("predictions").EnumerateArray());
    }
}
