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
        using var api = factory.HostClient(await apiHost.UrlAsync(Startup));
        string Logs() => $"api:\n{apiHost.Log}\nworker:\n{worker.Log}";

        var corpusId = await SeededApiFactory.Created(api.PostAsync("/datasets", DatasetTests.Upload(Encoding.UTF8.GetBytes(TestData.Corpus(60, seed: 5)), "corpus.txt")));
        var pretrainJob = await Poll.Succeeded(api, await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs", new Dictionary<string, object?>
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
        var fineTuneJob = await Poll.Succeeded(api, await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs",
            TestData.FineTuneSpec(train, validation, Guid.Parse(pretrainedId!)))), Logs);
        var fineTuned = await api.GetFromJsonAsync<JsonElement>($"/models/{fineTuneJob.GetProperty("result_model_id").GetString()}");

        Assert.Equal("BertForSequenceClassification", fineTuned.GetProperty("architecture").GetString());
        Assert.Equal(fineTuneJob.GetProperty("id").GetString(), fineTuned.GetProperty("source_job_id").GetString());
        Assert.Equal(pretrainedId, fineTuned.GetProperty("base_model_id").GetString());
    }
}
