using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

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
