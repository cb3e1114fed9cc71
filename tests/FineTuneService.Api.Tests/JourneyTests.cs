using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace FineTuneService.Api.Tests;

/// <summary>The user's journey over HTTP against PostgreSQL with the three hosts as separate processes sharing the
/// database and the artifacts folder: upload and import on the Api, training on the Worker, predict on Inference.</summary>
public class JourneyTests(ApiFactory factory, ITestOutputHelper output) : IClassFixture<ApiFactory>
{
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Upload_import_fine_tune_watch_and_predict_across_api_worker_and_inference_processes()
    {
        using var apiHost = factory.StartHost("FineTuneService.Api");
        using var worker = factory.StartWorker();
        using var inferenceHost = factory.StartHost("FineTuneService.Inference");
        using var api = factory.HostClient(await apiHost.UrlAsync(Startup));
        using var inference = factory.HostClient(await inferenceHost.UrlAsync(Startup));
        string Logs() => $"api:\n{apiHost.Log}\nworker:\n{worker.Log}\ninference:\n{inferenceHost.Log}";

        var clock = Stopwatch.StartNew();
        var train = await Created(api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(48, seed: 1), "train.csv")));
        var validation = await Created(api.PostAsync("/datasets", DatasetTests.Upload(TestData.SentimentCsv(16, seed: 2), "validation.csv")));
        var baseModel = await Created(api.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        var uploaded = clock.Elapsed;
        var spec = TestData.FineTuneSpec(train, validation, baseModel);
        ((Dictionary<string, object?>)spec["hyperparameters"]!)["learning_rate"] = 5e-3;
        ((Dictionary<string, object?>)spec["hyperparameters"]!)["num_train_epochs"] = 8;
        var response = await api.PostAsJsonAsync("/jobs", spec);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await SeededApiFactory.Json(response)).GetProperty("id").GetString();

        var running = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/jobs/{id}"),
            j => j.GetProperty("status").GetString() != "queued", TimeSpan.FromSeconds(240), j => $"{j}\n{Logs()}");
        var started = clock.Elapsed;
        var job = await Poll.Until(() => api.GetFromJsonAsync<JsonElement>($"/jobs/{id}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(240), j => $"{j}\n{Logs()}");
        var trained = clock.Elapsed;

        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{Logs()}");
        var progress = job.GetProperty("progress");
        Assert.Equal(48, progress.GetProperty("total_steps").GetInt32()); // 48 rows / batch 8 × 8 epochs
        Assert.Equal(48, progress.GetProperty("step").GetInt32());
        Assert.Equal(8.0, progress.GetProperty("epoch").GetDouble(), 3);
        Assert.Equal(1, job.GetProperty("attempt").GetInt32());
        Assert.True(job.GetProperty("finished_at").GetDateTime() >= job.GetProperty("started_at").GetDateTime());

        var metrics = (await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics")).GetProperty("items").EnumerateArray().ToList();
        Assert.Superset(new HashSet<string?> { "loss", "learning_rate", "eval_loss", "eval_accuracy", "eval_f1" },
            metrics.Select(m => m.GetProperty("name").GetString()).ToHashSet());
        Assert.Equal(Enumerable.Range(1, 24).Select(i => 2 * i), metrics.Where(m => m.GetProperty("name").GetString() == "loss").Select(m => m.GetProperty("step").GetInt32()));
        Assert.Equal(8, metrics.Count(m => m.GetProperty("name").GetString() == "eval_accuracy"));
        var polled = (await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics?since_step=40")).GetProperty("items").EnumerateArray();
        Assert.All(polled, m => Assert.True(m.GetProperty("step").GetInt32() > 40));
        Assert.NotEqual(0, (await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}/checkpoints")).GetProperty("items").GetArrayLength());
        Assert.Contains((await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}/events")).GetProperty("items").EnumerateArray(),
            e => e.GetProperty("message").GetString()!.StartsWith("Succeeded"));

        var modelId = job.GetProperty("result_model_id").GetString();
        var model = await api.GetFromJsonAsync<JsonElement>($"/models/{modelId}");
        Assert.Equal("BertForSequenceClassification", model.GetProperty("architecture").GetString());
        Assert.Equal(id, model.GetProperty("source_job_id").GetString());
        Assert.Equal(baseModel.ToString(), model.GetProperty("base_model_id").GetString());
        using (var zip = new ZipArchive(await api.GetStreamAsync($"/models/{modelId}/download")))
            Assert.Superset(new HashSet<string> { "config.json", "model.safetensors", "vocab.txt" }, zip.Entries.Select(e => e.Name).ToHashSet());

        var predicted = await inference.PostAsJsonAsync($"/models/{modelId}/predict", new { inputs = new[] { "the film was really superb", "the plot was really awful" } });
        var body = await predicted.Content.ReadAsStringAsync();
        Assert.True(predicted.StatusCode == HttpStatusCode.OK, body + Logs());
        var predictions = JsonDocument.Parse(body).RootElement.GetProperty("predictions").EnumerateArray().ToList();
        // The data is separable by its sentiment word, so the model must get these two right, not merely answer.
        Assert.True(predictions.Select(p => p.GetProperty("label").GetString()).SequenceEqual(["pos", "neg"]),
            $"{body}\n{string.Join(", ", metrics.Select(m => $"{m.GetProperty("name").GetString()}@{m.GetProperty("step").GetInt32()}={m.GetProperty("value").GetDouble():F3}"))}");
        Assert.All(predictions, p => Assert.Equal(2, p.GetProperty("scores").EnumerateObject().Count()));
        output.WriteLine($"upload+import {uploaded.TotalSeconds:F1} s, queued→running {(started - uploaded).TotalSeconds:F1} s, " +
            $"running→succeeded {(trained - started).TotalSeconds:F1} s, predict {(clock.Elapsed - trained).TotalSeconds:F1} s");
    }

    static async Task<Guid> Created(Task<HttpResponseMessage> request)
    {
        var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }
}
