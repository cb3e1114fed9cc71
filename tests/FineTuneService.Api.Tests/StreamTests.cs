using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

public class StreamFactory : SeededApiFactory
{
    // Polled often, so that a few hundred milliseconds of tiny training show as several progress events.
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Jobs:StreamPollSeconds"] = "0.1" };

    /// <summary>36 steps (48 rows, batch 8, 6 epochs), loss every 2 steps, evaluation and a checkpoint per epoch.</summary>
    public Dictionary<string, object?> StreamSpec() => Spec(new Dictionary<string, object?>
    {
        ["num_train_epochs"] = 6, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 16,
        ["logging_steps"] = 2, ["eval_strategy"] = "epoch", ["save_strategy"] = "epoch", ["seed"] = 7,
    });
}

/// <summary><c>GET /jobs/{id}/stream</c> over HTTP while a worker process trains the job, then resumed with Last-Event-ID.</summary>
public class StreamTests(StreamFactory factory) : IClassFixture<StreamFactory>
{
    readonly HttpClient client = factory.CreateClient();

    public sealed record Item(string Type, string Id, JsonElement Data);

    static async Task<List<Item>> ReadAll(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var items = new List<Item>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            items.Add(new Item(item.EventType, item.EventId!, JsonDocument.Parse(item.Data).RootElement.Clone()));
        return items;
    }

    Task<HttpResponseMessage> Open(string id, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/stream");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    static string Status(Item item) => item.Data.GetProperty("status").GetString()!;

    [Fact]
    public async Task Stream_follows_a_job_from_queued_to_succeeded_and_resumes_after_last_event_id()
    {
        var id = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.StreamSpec()));
        // Opened while the job is queued and no worker runs: everything after comes live.
        var live = await Open(id);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var reading = ReadAll(live);
        using var worker = factory.StartWorker();
        var items = await reading.WaitAsync(TimeSpan.FromSeconds(240));

        Assert.Equal("status", items[0].Type);
        Assert.Equal("queued", Status(items[0]));
        Assert.Equal(["queued", "running", "succeeded"], items.Where(i => i.Type == "status").Select(Status));
        Assert.Equal("end", items[^1].Type);
        Assert.Equal("succeeded", Status(items[^1]));
        var final = items.Last(i => i.Type == "status").Data;
        Assert.Equal(36, final.GetProperty("progress").GetProperty("step").GetInt32());
        Assert.NotNull(final.GetProperty("result_model_id").GetString());

        var metrics = items.Where(i => i.Type == "metric").ToList();
        Assert.Equal(Enumerable.Range(1, 18).Select(i => 2 * i), metrics.Where(m => m.Data.GetProperty("name").GetString() == "loss").Select(m => m.Data.GetProperty("step").GetInt32()));
        Assert.Equal(6, metrics.Count(m => m.Data.GetProperty("name").GetString() == "eval_accuracy"));
        var rest = await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics");
        Assert.Equal(rest.GetProperty("items").GetArrayLength(), metrics.Count);
        var progress = items.Where(i => i.Type == "progress").Select(i => i.Data.GetProperty("step").GetInt32()).ToList();
        Assert.NotEmpty(progress);
        Assert.Equal(progress.Order(), progress);
        var events = items.Where(i => i.Type == "event").Select(i => i.Data.GetProperty("message").GetString()!).ToList();
        Assert.StartsWith("Job accepted and queued", events[0]); // then who created it (audit)
        Assert.Contains(events, e => e.StartsWith("Succeeded"));

        // Resume after the third metric point: the current status, then exactly what came after that id, then end.
        var cut = items.IndexOf(metrics[2]);
        var resumed = await ReadAll(await Open(id, items[cut].Id));
        Assert.Equal("status", resumed[0].Type);
        Assert.Equal("succeeded", Status(resumed[0]));
        Assert.Equal("end", resumed[^1].Type);
        static IEnumerable<string> History(IEnumerable<Item> all) => all.Where(i => i.Type is "metric" or "event").Select(i => i.Type + i.Data.GetRawText());
        Assert.Equal(History(items.Skip(cut + 1)).Order(), History(resumed).Order());
        Assert.Equal(metrics.Count - 3, resumed.Count(i => i.Type == "metric"));
    }

    [Fact]
    public async Task Unknown_job_is_404_and_a_malformed_last_event_id_is_a_400_naming_it()
    {
        await (await Open(Guid.NewGuid().ToString())).AssertProblem(HttpStatusCode.NotFound);
        var id = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.StreamSpec()));
        await (await Open(id, "not-an-id")).AssertProblem(HttpStatusCode.BadRequest, "Last-Event-ID");
        await (await client.GetAsync($"/jobs/{id}/stream?last_event_id=1")).AssertProblem(HttpStatusCode.BadRequest, "last_event_id");
        // Not left queued for the other test's worker.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/jobs/{id}/cancel", null)).StatusCode);
    }
}
