using System.Net.Http.Json;
using FineTuneService.Platform.Persistence;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 2: a worker killed between recording a job's end and removing its work folder leaves the
/// folder behind; the next worker's recovery pass removes it (keeping a kept job's checkpoints), and the folder of a
/// job that no longer exists, while a job still running elsewhere keeps its folder.</summary>
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
}
