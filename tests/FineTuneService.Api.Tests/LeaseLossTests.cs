using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>A worker taken for dead while it still trains (its lease lapsed across a database outage and another worker
/// took the job) stops at its next write, before its next heartbeat: it must not write a checkpoint that the attempt
/// replacing it would resume from, past metric points it was no longer allowed to write (the chaos run once found a
/// job's loss missing at two steps this way).</summary>
public class LeaseLossTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    [Fact]
    public async Task A_worker_whose_lease_was_taken_stops_at_its_next_write_without_a_new_checkpoint()
    {
        var client = factory.CreateClient();
        var id = Guid.Parse(await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.Spec(new()
        {
            ["max_steps"] = 100_000, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 16,
            ["logging_steps"] = 1, ["eval_strategy"] = "no", ["save_strategy"] = "steps", ["save_steps"] = 20, ["seed"] = 7,
        }))));
        // The heartbeat would notice only after 60 s: within the test's 20 s, only the observer's writes can.
        using var worker = HostProcess.Start("FineTuneService.Worker", new Dictionary<string, string>(factory.HostSettings)
        {
            ["Jobs:HeartbeatSeconds"] = "60", ["Jobs:LeaseSeconds"] = "600",
        });
        await Poll.Until(async () => { await using var db = factory.Db(); return await db.Jobs.Where(j => j.Id == id).Select(j => j.Step).SingleAsync(); },
            step => step >= 22, TimeSpan.FromSeconds(120), step => $"at step {step}\n{worker.Log}");

        await using (var db = factory.Db())
        {
            await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(set => set
                .SetProperty(j => j.LeaseOwner, "another-worker/1/alive").SetProperty(j => j.LeaseExpiresAt, DateTime.UtcNow.AddHours(1)));
        }
        var checkpoints = Path.Combine(factory.StorageRoot, "jobs", id.ToString("N"), "checkpoints");
        int Newest() => Directory.Exists(checkpoints)
            ? Directory.GetDirectories(checkpoints, "checkpoint-*").Select(d => int.Parse(Path.GetFileName(d)["checkpoint-".Length..])).DefaultIfEmpty().Max()
            : 0;
        var newestWhenTaken = Newest();

        await Poll.Until(() => Task.FromResult(worker.Log), log => log.Contains("its lease was lost"), TimeSpan.FromSeconds(20), log => log);
        await Task.Delay(TimeSpan.FromSeconds(2));
        // At most the checkpoint that was being written when the lease was taken (its check had passed).
        Assert.InRange(Newest(), newestWhenTaken, newestWhenTaken + 20);
        await using (var db = factory.Db())
        {
            var job = await db.Jobs.AsNoTracking().SingleAsync(j => j.Id == id);
            Assert.Equal("another-worker/1/alive", job.LeaseOwner);
            Assert.Equal(FineTuneService.Platform.Persistence.JobStatus.Running, job.Status);
        }
        Assert.False(worker.HasExited);
    }
}
