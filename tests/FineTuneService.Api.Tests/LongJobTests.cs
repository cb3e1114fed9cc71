using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

public class LongJobFactory : SeededApiFactory
{
    protected override int TrainRows => 480;

    /// <summary>240 steps (480 rows, batch 4, 2 epochs), a checkpoint every 20 steps.</summary>
    public Dictionary<string, object?> LongSpec() => Spec(new Dictionary<string, object?>
    {
        ["num_train_epochs"] = 2, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 4, ["max_seq_length"] = 16,
        ["logging_steps"] = 5, ["eval_strategy"] = "no", ["save_strategy"] = "steps", ["save_steps"] = 20, ["seed"] = 7,
    });
}

/// <summary>Jobs that run long enough to be cancelled or killed; each test class gets its own database.</summary>
public abstract class LongJobTests(LongJobFactory factory)
{
    protected LongJobFactory Factory { get; } = factory;
    protected readonly HttpClient client = factory.CreateClient();

    protected async Task<string> Post()
    {
        var response = await client.PostAsJsonAsync("/jobs", Factory.LongSpec());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await SeededApiFactory.Json(response)).GetProperty("id").GetString()!;
    }

    /// <summary>Posts the long job and waits until <paramref name="worker"/> has trained a step of it.</summary>
    internal async Task<string> PostRunning(HostProcess worker)
    {
        var id = await Post();
        await Poll.Until(() => Job(id), j => j.GetProperty("progress").GetProperty("step").GetInt32() > 0, TimeSpan.FromSeconds(240), j => $"{j}\n{worker.Log}");
        return id;
    }

    /// <summary>POST /jobs/{id}/{action}: a 202 with the job in <paramref name="status"/>.</summary>
    protected async Task Act(string id, string action, string status)
    {
        var response = await client.PostAsync($"/jobs/{id}/{action}", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(status, Status(await SeededApiFactory.Json(response)));
    }

    protected Task<JsonElement> Job(string id) => client.GetFromJsonAsync<JsonElement>($"/jobs/{id}");

    protected static string Status(JsonElement job) => job.GetProperty("status").GetString()!;

    protected async Task<List<string>> Events(string id) =>
        [.. (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()!)];
}

static class Responses
{
    public static async Task EnsureAccepted(this HttpResponseMessage response) =>
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
}
