using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

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
