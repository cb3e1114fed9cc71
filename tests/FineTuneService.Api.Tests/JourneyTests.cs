using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace FineTuneService.Api.Tests;

/// <summary>The user's journey over HTTP against PostgreSQL, with the Api and a Worker as separate processes' roles:
/// upload, import, post a fine-tune job, watch it run, read metrics, get the result model.</summary>
public class JourneyTests(WorkerFactory factory, ITestOutputHelper output) : IClassFixture<WorkerFactory>
{
    readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Fine_tune_job_runs_to_succeeded_with_metrics_and_a_result_model()
    {
        using var worker = factory.StartWorker();
        var clock = Stopwatch.StartNew();
        var response = await client.PostAsJsonAsync("/jobs", factory.Spec());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await SeededApiFactory.Json(response)).GetProperty("id").GetString();

        var job = await Poll.Until(() => client.GetFromJsonAsync<JsonElement>($"/jobs/{id}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(240),
            j => $"{j}\n{worker.Log}");
        output.WriteLine($"queued → succeeded in {clock.Elapsed.TotalSeconds:F1} s");

        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{worker.Log}");
        var progress = job.GetProperty("progress");
        Assert.Equal(12, progress.GetProperty("total_steps").GetInt32()); // 48 rows / batch 8 × 2 epochs
        Assert.Equal(12, progress.GetProperty("step").GetInt32());
        Assert.Equal(2.0, progress.GetProperty("epoch").GetDouble(), 3);
        Assert.Equal(1, job.GetProperty("attempt").GetInt32());
        Assert.True(job.GetProperty("finished_at").GetDateTime() >= job.GetProperty("started_at").GetDateTime());

        var metrics = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics")).GetProperty("items").EnumerateArray().ToList();
        var names = metrics.Select(m => m.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "loss", "learning_rate", "eval_loss", "eval_accuracy", "eval_f1" }, names);
        Assert.Equal([2, 4, 6, 8, 10, 12], metrics.Where(m => m.GetProperty("name").GetString() == "loss").Select(m => m.GetProperty("step").GetInt32()));
        Assert.Equal(2, metrics.Count(m => m.GetProperty("name").GetString() == "eval_accuracy"));
        var polled = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics?since_step=10")).GetProperty("items").EnumerateArray();
        Assert.All(polled, m => Assert.True(m.GetProperty("step").GetInt32() > 10));

        var checkpoints = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/checkpoints")).GetProperty("items");
        Assert.NotEqual(0, checkpoints.GetArrayLength());
        var events = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()).ToList();
        Assert.Contains(events, e => e!.StartsWith("Succeeded"));

        var modelId = job.GetProperty("result_model_id").GetString();
        var model = await client.GetFromJsonAsync<JsonElement>($"/models/{modelId}");
        Assert.Equal("BertForSequenceClassification", model.GetProperty("architecture").GetString());
        Assert.Equal(id, model.GetProperty("source_job_id").GetString());
        Assert.Equal(factory.ModelId.ToString(), model.GetProperty("base_model_id").GetString());
        using var zip = new ZipArchive(await client.GetStreamAsync($"/models/{modelId}/download"));
        Assert.Contains(zip.Entries, e => e.Name == "model.safetensors");
        Assert.Contains(zip.Entries, e => e.Name == "config.json");
    }
}
