using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Platform.Persistence;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, items 3 and 6 with a real worker process: a job whose worker died Jobs:MaxAttempts times fails with
/// the reason, one that died fewer times runs again after its back-off, and a failure shows no server path.</summary>
public class PoisonJobTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    /// <summary>As a killed worker leaves a job: running, its lease held by a process that is gone and long expired, and
    /// no longer in Hangfire's queue.</summary>
    async Task DiedHolding(string id, int deaths, int step)
    {
        await using var db = factory.Db();
        var hangfireId = await db.Jobs.Where(j => j.Id == Guid.Parse(id)).Select(j => j.HangfireJobId).SingleAsync();
        factory.Services.GetRequiredService<IBackgroundJobClient>().Delete(hangfireId);
        await db.Jobs.Where(j => j.Id == Guid.Parse(id)).ExecuteUpdateAsync(set => set
            .SetProperty(j => j.Status, JobStatus.Running).SetProperty(j => j.LeaseOwner, "gone/1/dead")
            .SetProperty(j => j.LeaseExpiresAt, DateTime.UtcNow.AddMinutes(-1)).SetProperty(j => j.Attempt, deaths)
            .SetProperty(j => j.Deaths, deaths - 1).SetProperty(j => j.Step, step));
    }

    [Fact]
    public async Task Worker_deaths_end_in_failed_at_max_attempts_and_earlier_ones_retry_after_back_off()
    {
        var poison = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.Spec()));
        var retried = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.Spec()));
        await DiedHolding(poison, deaths: 3, step: 7);
        await DiedHolding(retried, deaths: 1, step: 0);
        // A base model whose tokenizer went missing on the volume: the job fails reading it.
        var broken = await SeededApiFactory.Created(client.PostAsync("/models/import",
            TestData.ModelParts(TestData.TinyModel, "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")));
        File.Delete(Path.Combine(factory.StorageRoot, "models", broken.ToString("N"), "vocab.txt"));
        var unreadable = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs",
            TestData.FineTuneSpec(factory.TrainDatasetId, factory.ValidationDatasetId, broken)));

        using var worker = factory.StartWorker();

        var failed = await Poll.Until(() => client.GetFromJsonAsync<JsonElement>($"/jobs/{poison}"), j => j.GetProperty("status").GetString() != "running",
            TimeSpan.FromSeconds(120), j => $"{j}\n{worker.Log}");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Contains("The worker died 3 times; last seen at step 7", failed.GetProperty("error").GetString());

        await Poll.Succeeded(client, retried, () => worker.Log);
        await Poll.WorkFolderGone(factory, retried, () => worker.Log);
        var events = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{retried}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Contains(events, e => e.StartsWith("Enqueued again") && e.Contains("runs again in 1 s"));

        var error = await Poll.Until(() => client.GetFromJsonAsync<JsonElement>($"/jobs/{unreadable}"),
            j => j.GetProperty("status").GetString() is "failed" or "succeeded", TimeSpan.FromSeconds(120), j => $"{j}\n{worker.Log}");
        var message = error.GetProperty("error").GetString()!;
        Assert.Equal("failed", error.GetProperty("status").GetString());
        Assert.Contains("vocab.txt", message);
        Assert.DoesNotContain(factory.StorageRoot, message);
        Assert.DoesNotContain("/models/", message);
        var traceId = System.Text.RegularExpressions.Regex.Match(message, @"trace id (\w+)").Groups[1].Value;
        Assert.Contains(traceId, worker.Log);
        Assert.False(worker.HasExited);
    }
}
