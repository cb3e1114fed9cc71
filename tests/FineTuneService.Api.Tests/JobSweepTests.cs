using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Platform.Persistence;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, items 2 and 7, what a worker killed at the wrong moment leaves, with a real worker process: between
/// recording a job's end and removing its work folder, the folder (the next worker's recovery pass removes it, keeping a
/// kept job's checkpoints, and the folder of a job that no longer exists, while a job still running elsewhere keeps its
/// folder); between Hangfire's handing it a job and its taking the job's lease, a job Hangfire holds as processing.</summary>
public class JobSweepTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    static readonly string[] WorkFiles = ["data/train.bin", "data/train.bin.idx", "tokenizer/vocab.txt", "checkpoints/checkpoint-2/model.safetensors"];

    static string Folder(string id) => Path.Combine("jobs", Guid.Parse(id).ToString("N"));

    string WriteWorkFolder(string id)
    {
        foreach (var file in WorkFiles)
        {
            var path = Path.Combine(factory.StorageRoot, Folder(id), file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, file);
        }
        return id;
    }

    /// <summary>A posted job taken out of Hangfire's queue and set as <paramref name="status"/>, with a work folder.</summary>
    async Task<string> Job(JobStatus status, bool keepCheckpoints = false, string? leaseOwner = null)
    {
        var spec = factory.Spec();
        if (keepCheckpoints) spec["keep_checkpoints"] = true;
        var id = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", spec));
        await using var db = factory.Db();
        var hangfireId = await db.Jobs.Where(j => j.Id == Guid.Parse(id)).Select(j => j.HangfireJobId).SingleAsync();
        factory.Services.GetRequiredService<IBackgroundJobClient>().Delete(hangfireId);
        var finished = JobStatusGroups.Finished.Contains(status);
        await db.Jobs.Where(j => j.Id == Guid.Parse(id)).ExecuteUpdateAsync(set => set
            .SetProperty(j => j.Status, status).SetProperty(j => j.FinishedAt, finished ? DateTime.UtcNow : null)
            .SetProperty(j => j.LeaseOwner, leaseOwner).SetProperty(j => j.LeaseExpiresAt, leaseOwner is null ? null : DateTime.UtcNow.AddHours(1)));
        return WriteWorkFolder(id);
    }

    [Fact]
    public async Task A_worker_sweeps_the_work_folders_of_finished_and_deleted_jobs()
    {
        var succeeded = await Job(JobStatus.Succeeded);
        var kept = await Job(JobStatus.Failed, keepCheckpoints: true);
        var running = await Job(JobStatus.Running, leaseOwner: "elsewhere/1/alive");
        var deleted = WriteWorkFolder(Guid.NewGuid().ToString());

        using var worker = factory.StartWorker();

        IReadOnlyList<string> Files(string id) =>
            [.. factory.StoredFiles(Folder(id)).Select(f => Path.GetRelativePath(Path.Combine(factory.StorageRoot, Folder(id)), f)).Order()];
        await Poll.Until(() => Task.FromResult(Files(succeeded).Count + Files(deleted).Count + Files(kept).Count), n => n == 1,
            TimeSpan.FromSeconds(120), n => $"{n} files left\n{worker.Log}");
        Assert.Empty(Files(succeeded));
        Assert.Empty(Files(deleted));
        Assert.Equal(["checkpoints/checkpoint-2/model.safetensors"], Files(kept));
        Assert.Equal(WorkFiles.Order(), Files(running));
        Assert.False(worker.HasExited);
    }

    [Fact]
    public async Task A_queued_job_whose_worker_died_before_taking_its_lease_runs_on_another_worker()
    {
        var id = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", factory.Spec()));
        await using (var db = factory.Db())
        {
            // As the killed worker leaves it: Hangfire's job processing by a server that is gone, its queue entry fetched.
            var hangfireId = await db.Jobs.Where(j => j.Id == Guid.Parse(id)).Select(j => j.HangfireJobId).SingleAsync();
            using (var connection = factory.Services.GetRequiredService<JobStorage>().GetConnection())
            using (var transaction = connection.CreateWriteTransaction())
            {
                transaction.SetJobState(hangfireId!, new ProcessingByTheDead());
                transaction.Commit();
            }
            Assert.Equal(1, await db.Database.ExecuteSqlRawAsync("UPDATE hangfire.jobqueue SET fetchedat = now() WHERE jobid = {0}", long.Parse(hangfireId!)));
        }

        using var worker = factory.StartWorker();

        await Poll.Succeeded(client, id, () => worker.Log);
        var events = (await client.GetFromJsonAsync<JsonElement>($"/jobs/{id}/events")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Contains("Enqueued again: the worker that took it stopped before starting it.", events);
    }
}

/// <summary>Hangfire's processing state as a worker records it when it takes a job (ProcessingState's constructor is
/// internal), by a server that is gone.</summary>
sealed class ProcessingByTheDead : IState
{
    public string Name => ProcessingState.StateName;
    public string? Reason => null;
    public bool IsFinal => false;
    public bool IgnoreJobLoadException => false;

    public Dictionary<string, string> SerializeData() => new()
    {
        ["StartedAt"] = JobHelper.SerializeDateTime(DateTime.UtcNow), ["ServerId"] = "gone:1:dead", ["WorkerId"] = "worker-1",
    };
}
