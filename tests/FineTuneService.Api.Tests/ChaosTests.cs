using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 7: a bounded set of small jobs against PostgreSQL with two Worker processes, an Api process and
/// the Inference host, while workers are SIGKILLed at random, the Api is restarted and PostgreSQL is restarted mid-run,
/// with predict traffic flowing. Every job ends succeeded exactly once with every logged step once, no work folder is
/// left, and predict answers 503 (or 429) only while PostgreSQL is down, 200 or 429 otherwise. CI runs a short run (<c>FTS_CHAOS_JOBS</c>, default 4); the long run is
/// <c>FTS_CHAOS_JOBS=30 dotnet test tests/FineTuneService.Api.Tests -c Release --filter ChaosTests</c> and prints its figures.</summary>
public class ChaosTests(SeededApiFactory factory, ITestOutputHelper output) : IClassFixture<SeededApiFactory>
{
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120);
    static int Jobs => int.TryParse(Environment.GetEnvironmentVariable("FTS_CHAOS_JOBS"), out var n) && n > 0 ? n : 4;

    /// <summary>12 steps (48 rows, batch 8, 2 epochs), loss every 2 steps, a checkpoint per epoch.</summary>
    Dictionary<string, object?> Spec(int seed) => factory.Spec(new Dictionary<string, object?>
    {
        ["num_train_epochs"] = 2, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 16,
        ["logging_steps"] = 2, ["eval_strategy"] = "no", ["save_strategy"] = "epoch", ["seed"] = seed,
    });

    [Fact]
    public async Task Jobs_survive_killed_workers_and_restarts_and_predict_fails_only_while_the_database_is_down()
    {
        var random = new Random(12);
        // A job may be killed several times here: more deaths than the default Jobs:MaxAttempts before it fails.
        var workerSettings = new Dictionary<string, string>(factory.HostSettings) { ["Jobs:MaxAttempts"] = "20" };
        HostProcess StartWorker() => HostProcess.Start("FineTuneService.Worker", workerSettings);
        var workers = new List<HostProcess> { StartWorker(), StartWorker() };
        var apiHost = factory.StartHost("FineTuneService.Api");
        using var inferenceHost = factory.StartHost("FineTuneService.Inference");
        var api = factory.HostClient(await apiHost.UrlAsync(Startup));
        using var inference = factory.HostClient(await inferenceHost.UrlAsync(Startup));
        string Logs() => $"api:\n{apiHost.Log}\nworkers:\n{string.Join("\n---\n", workers.Select(w => w.Log))}\ninference:\n{inferenceHost.Log}";
        int kills = 0, apiRestarts = 0, databaseRestarts = 0, stepsRedone = 0;
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var clock = Stopwatch.StartNew();
        try
        {
            var ids = new List<string>();
            for (int i = 0; i < Jobs; i++) ids.Add(await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs", Spec(seed: i))));

            // Predict traffic all along; the model is loaded before the database goes down, as a busy service has it.
            // Each answer with when its request was sent and answered, to tell those that overlapped the outage.
            var answers = new ConcurrentBag<(HttpStatusCode Status, TimeSpan Sent, TimeSpan Answered)>();
            (TimeSpan From, TimeSpan To)? outage = null;
            using var stopTraffic = new CancellationTokenSource();
            var traffic = Task.Run(async () =>
            {
                var body = new JsonObject { ["inputs"] = "the movie was [MASK]" };
                while (!stopTraffic.IsCancellationRequested)
                {
                    try
                    {
                        var sent = clock.Elapsed;
                        var response = await inference.PostAsJsonAsync($"/models/{factory.ModelId}/predict", body.DeepClone(), stopTraffic.Token);
                        answers.Add((response.StatusCode, sent, clock.Elapsed));
                    }
                    catch (OperationCanceledException) { }
                    await Task.Delay(50);
                }
            });

            async Task<bool> AllFinished()
            {
                try
                {
                    await using var db = factory.Db();
                    return await db.Jobs.CountAsync(j => ids.Select(Guid.Parse).Contains(j.Id) && JobStatusGroups.Finished.Contains(j.Status)) == ids.Count;
                }
                catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException) { return false; }
            }

            // Faults are spaced so that work gets done between them: a kill every 5–8 s, a third of the jobs' worth of kills.
            var maxKills = Math.Max(2, Jobs / 3);
            var step = 0;
            while (!await AllFinished())
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(90 + 30 * Jobs)) Assert.Fail($"not done after {clock.Elapsed}: {await Unfinished(ids)}\n{Logs()}");
                await Task.Delay(TimeSpan.FromSeconds(5 + random.NextDouble() * 3));
                step++;
                if (kills >= maxKills && step > 3) continue;
                if (step == 2 && TestPostgres.CanRestart)
                {
                    var down = clock.Elapsed;
                    TestPostgres.Restart(TimeSpan.FromSeconds(3));
                    outage = (down, clock.Elapsed);
                    databaseRestarts++;
                }
                else if (step == 3)
                {
                    apiHost.Kill();
                    apiHost.Dispose();
                    apiHost = factory.StartHost("FineTuneService.Api");
                    api = factory.HostClient(await apiHost.UrlAsync(Startup));
                    apiRestarts++;
                }
                else
                {
                    var victim = workers[random.Next(workers.Count)];
                    stepsRedone += await StepsPastTheirCheckpoint(victim);
                    victim.Kill();
                    workers.Remove(victim);
                    victim.Dispose();
                    workers.Add(StartWorker());
                    kills++;
                }
            }
            await stopTraffic.CancelAsync();
            await traffic;

            var attempts = 0;
            foreach (var id in ids)
            {
                var job = await api.GetFromJsonAsync<JsonElement>($"/jobs/{id}");
                Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{Logs()}");
                attempts += job.GetProperty("attempt").GetInt32();
                var loss = await factory.Db().MetricPoints.Where(p => p.JobId == Guid.Parse(id) && p.Name == "loss")
                    .OrderBy(p => p.Step).Select(p => new { p.Step, p.Attempt }).ToListAsync();
                // Every logged step once: no step written by two workers or twice, none lost to a resumed attempt.
                Assert.True(loss.Select(p => p.Step).SequenceEqual([2, 4, 6, 8, 10, 12]),
                    $"job {id}: loss at steps {string.Join(", ", loss.Select(p => $"{p.Step} (attempt {p.Attempt})"))}; events:\n" +
                    string.Join("\n", await factory.Db().JobEvents.Where(e => e.JobId == Guid.Parse(id)).OrderBy(e => e.Id)
                        .Select(e => e.CreatedAt.ToString("HH:mm:ss.fff") + " " + e.Message).ToListAsync()) + $"\n{Logs()}");
                Assert.Equal(1, await factory.Db().Models.CountAsync(m => m.SourceJobId == Guid.Parse(id))); // succeeded exactly once
                await Poll.WorkFolderGone(factory, id, Logs);
            }
            Assert.Empty(factory.StoredFiles("tmp"));
            var statuses = answers.ToList();
            bool WhileDown((HttpStatusCode Status, TimeSpan Sent, TimeSpan Answered) a) => outage is { } o && a.Sent <= o.To && a.Answered >= o.From;
            var whileDown = statuses.Where(WhileDown).ToList();
            var whileUp = statuses.Where(a => !WhileDown(a)).ToList();
            Assert.All(whileDown, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable,
                $"predict answered {a.Status} while PostgreSQL was down"));
            Assert.All(whileUp, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests,
                $"predict answered {a.Status} at {a.Sent.TotalSeconds:0.0}–{a.Answered.TotalSeconds:0.0} s, PostgreSQL up (its outage: {outage})"));
            if (outage is not null) Assert.NotEmpty(whileDown); // traffic flowed through the outage
            Assert.Contains(statuses, a => a.Status == HttpStatusCode.OK);
            string Counts(List<(HttpStatusCode Status, TimeSpan Sent, TimeSpan Answered)> part) =>
                $"{part.Count(a => a.Status == HttpStatusCode.OK)} served, {part.Count(a => a.Status == HttpStatusCode.TooManyRequests)} refused (429), " +
                $"{part.Count(a => a.Status == HttpStatusCode.ServiceUnavailable)} unavailable (503)";
            output.WriteLine($"chaos: {ids.Count} jobs succeeded in {clock.Elapsed.TotalSeconds:0} s (load average {load} at the start); {kills} workers killed, " +
                $"{apiRestarts} Api restarts, {databaseRestarts} PostgreSQL restarts{(TestPostgres.CanRestart ? "" : " (FTS_TEST_POSTGRES names a server this run cannot restart)")}; " +
                $"{attempts - ids.Count} attempts resumed, {stepsRedone} steps redone; predict while PostgreSQL was up: {Counts(whileUp)}; " +
                $"while it was down ({(outage is { } o ? $"{(o.To - o.From).TotalSeconds:0.0} s" : "never")}): {Counts(whileDown)}");
        }
        finally
        {
            apiHost.Dispose();
            foreach (var worker in workers) worker.Dispose();
        }
    }

    /// <summary>The jobs not finished yet, as the database and Hangfire have them.</summary>
    async Task<string> Unfinished(List<string> ids)
    {
        await using var db = factory.Db();
        var jobs = await db.Jobs.Where(j => ids.Select(Guid.Parse).Contains(j.Id) && !JobStatusGroups.Finished.Contains(j.Status)).ToListAsync();
        using var hangfire = factory.Services.GetRequiredService<Hangfire.JobStorage>().GetConnection();
        return string.Join("; ", jobs.Select(j => $"{j.Id} {j.Status} attempt {j.Attempt} deaths {j.Deaths} step {j.Step} lease {j.LeaseOwner} until {j.LeaseExpiresAt:HH:mm:ss} " +
            $"hangfire {j.HangfireJobId} {(j.HangfireJobId is null ? null : hangfire.GetStateData(j.HangfireJobId)?.Name)}"));
    }

    /// <summary>The steps the jobs a worker holds have done past their newest checkpoint: what killing it makes them redo
    /// (their progress is written every 0.5 s, so this is at most a step or two short).</summary>
    async Task<int> StepsPastTheirCheckpoint(HostProcess worker)
    {
        await using var db = factory.Db();
        var owner = $"{Environment.MachineName}/{worker.Id}/";
        var held = await db.Jobs.Where(j => j.LeaseOwner != null && j.LeaseOwner.StartsWith(owner)).Select(j => new { j.Id, j.Step }).ToListAsync();
        var redone = 0;
        foreach (var job in held)
            redone += Math.Max(0, job.Step - (await db.Checkpoints.Where(c => c.JobId == job.Id).MaxAsync(c => (int?)c.Step) ?? 0));
        return redone;
    }
}
