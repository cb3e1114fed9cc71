using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

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

/// <summary>Cancel reaches the worker process through the database and stops the job within seconds.</summary>
public class CancelTests(LongJobFactory factory) : LongJobTests(factory), IClassFixture<LongJobFactory>
{

    [Fact]
    public async Task Cancel_stops_a_running_job_within_seconds()
    {
        using var worker = Factory.StartWorker();
        var id = await PostRunning(worker);
        await Act(id, "cancel", "cancelling");

        var job = await Poll.Until(() => Job(id), j => Status(j) != "cancelling", TimeSpan.FromSeconds(10), j => $"{j}\n{worker.Log}");
        Assert.True(Status(job) == "cancelled", $"{job}\n{string.Join("\n", await Events(id))}\n{worker.Log}");
        Assert.True(job.GetProperty("progress").GetProperty("step").GetInt32() < 240);
        Assert.False(worker.HasExited);
        Assert.Contains("Cancelled.", await Events(id));
    }
}

/// <summary>A worker killed with SIGKILL: the job resumes on another worker from its last checkpoint and does not
/// redo the steps before it.</summary>
public class ResumeTests(LongJobFactory factory) : LongJobTests(factory), IClassFixture<LongJobFactory>
{

    [Fact]
    public async Task Job_of_a_killed_worker_resumes_from_its_checkpoint_on_another_worker()
    {
        var id = await Post();
        int checkpointStep;
        using (var first = Factory.StartWorker())
        {
            await Poll.Until(() => CheckpointSteps(id), steps => steps.Count > 0, TimeSpan.FromSeconds(240), _ => first.Log);
            first.Kill();
            checkpointStep = (await CheckpointSteps(id)).Max();
        }
        var killed = await Job(id);
        Assert.Equal("running", Status(killed));
        Assert.True(killed.GetProperty("progress").GetProperty("step").GetInt32() < 240, "killed before the end");

        using var second = Factory.StartWorker();
        var job = await Poll.Until(() => Job(id), j => Status(j) is "succeeded" or "failed", TimeSpan.FromSeconds(240), j => $"{j}\n{second.Log}");

        Assert.True(Status(job) == "succeeded", $"{job}\n{second.Log}");
        Assert.Equal(2, job.GetProperty("attempt").GetInt32());
        Assert.Equal(240, job.GetProperty("progress").GetProperty("step").GetInt32());
        var loss = await Factory.Db().MetricPoints.Where(p => p.JobId == Guid.Parse(id) && p.Name == "loss")
            .OrderBy(p => p.Step).Select(p => new { p.Step, p.Attempt }).ToListAsync();
        // Every logged step once; the first worker's up to the checkpoint, the second's after it: nothing before it was redone.
        Assert.Equal(Enumerable.Range(1, 48).Select(i => i * 5), loss.Select(p => p.Step));
        Assert.All(loss, p => Assert.Equal(p.Step <= checkpointStep ? 1 : 2, p.Attempt));
        var events = await Events(id);
        Assert.Contains(events, e => e.StartsWith("Enqueued again"));
        Assert.Contains(events, e => e.StartsWith("Attempt 2 started"));
    }

    async Task<List<int>> CheckpointSteps(string id) =>
        [.. (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/checkpoints")).GetProperty("items").EnumerateArray()
            .Select(c => c.GetProperty("step").GetInt32())];
}

/// <summary>Pause checkpoints and frees the worker's device; resume continues from that checkpoint with the losses of an
/// uninterrupted run.</summary>
public class PauseTests(LongJobFactory factory) : LongJobTests(factory), IClassFixture<LongJobFactory>
{
    [Fact]
    public async Task Paused_job_frees_the_device_and_resumes_to_the_losses_of_an_uninterrupted_run()
    {
        using var worker = Factory.StartWorker();
        var paused = await PostRunning(worker);
        await Act(paused, "pause", "pausing");
        var job = await Poll.Until(() => Job(paused), j => Status(j) != "pausing", TimeSpan.FromSeconds(30), j => $"{j}\n{worker.Log}");
        Assert.Equal("paused", Status(job));
        var step = job.GetProperty("progress").GetProperty("step").GetInt32();
        Assert.InRange(step, 1, 239);
        Assert.Contains($"Paused at step {step}; resume continues from checkpoint-{step}.", await Events(paused));
        Assert.Contains(step, (await client.GetFromJsonAsync<JsonElement>($"/jobs/{paused}/checkpoints")).GetProperty("items").EnumerateArray()
            .Select(c => c.GetProperty("step").GetInt32()));
        Assert.Null((await Factory.Db().Jobs.SingleAsync(j => j.Id == Guid.Parse(paused))).LeaseOwner);
        await (await client.PostAsync($"/jobs/{paused}/pause", null)).EnsureAccepted();

        // The worker has one device: a job it runs to the end meanwhile shows the paused one let go of it.
        var uninterrupted = await Post();
        await Poll.Succeeded(client, uninterrupted, () => worker.Log);
        Assert.Equal("paused", Status(await Job(paused)));

        await Act(paused, "resume", "queued");
        var finished = await Poll.Succeeded(client, paused, () => worker.Log);
        Assert.Equal(2, finished.GetProperty("attempt").GetInt32());
        await (await client.PostAsync($"/jobs/{paused}/resume", null)).AssertProblem(HttpStatusCode.Conflict);
        await (await client.PostAsync($"/jobs/{paused}/pause", null)).AssertProblem(HttpStatusCode.Conflict);

        async Task<List<(int Step, string Name, double Value)>> Curve(string id) =>
            [.. (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/metrics")).GetProperty("items").EnumerateArray()
                .Where(p => p.GetProperty("name").GetString() is "loss" or "learning_rate" or "grad_norm")
                .Select(p => (p.GetProperty("step").GetInt32(), p.GetProperty("name").GetString()!, p.GetProperty("value").GetDouble()))];
        var resumedCurve = await Curve(paused);
        Assert.Equal(48 * 3, resumedCurve.Count);
        Assert.Equal(await Curve(uninterrupted), resumedCurve); // bit for bit, across the pause
    }
}

static class Responses
{
    public static async Task EnsureAccepted(this HttpResponseMessage response) =>
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
}
