using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Training.Models;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 2 with real worker processes: a job past its wall-clock limit fails; a checkpoint the storage
/// budget has no room for fails its job cleanly, the previous checkpoint kept (keep_checkpoints) and whole; a finished
/// job's work folder goes.</summary>
public class BoundedJobTests(LongJobFactory factory) : LongJobTests(factory), IClassFixture<LongJobFactory>
{
    /// <summary>What a checkpoint of the tiny classifier takes, as the Trainer estimates it: weights and AdamW's two moments.</summary>
    static long CheckpointBytes()
    {
        var config = BertConfig.Load(Path.Combine(TestData.TinyModel, "config.json")) with
        {
            Id2Label = new Dictionary<int, string> { [0] = "neg", [1] = "pos" },
            Label2Id = new Dictionary<string, int> { ["neg"] = 0, ["pos"] = 1 },
        };
        var model = ModelFolder.Create(nameof(BertForSequenceClassification), config with { Architectures = [nameof(BertForSequenceClassification)] });
        var bytes = 3 * model.Module.parameters().Sum(p => p.numel() * p.ElementSize);
        model.Module.Dispose();
        return bytes;
    }

    [Fact]
    public async Task Wall_clock_and_storage_limits_fail_the_job_cleanly()
    {
        var slow = await Post();
        using (var worker = HostProcess.Start("FineTuneService.Worker", new Dictionary<string, string>(Factory.HostSettings) { ["Jobs:MaxJobSeconds"] = "3" }))
        {
            var timedOut = await Poll.Until(() => Job(slow), j => Status(j) is "failed" or "succeeded", TimeSpan.FromSeconds(120), j => $"{j}\n{worker.Log}");
            Assert.Equal("failed", Status(timedOut));
            Assert.Contains("Jobs:MaxJobSeconds", timedOut.GetProperty("error").GetString());
            await Poll.WorkFolderGone(Factory, slow, () => worker.Log);
        }

        // Room for one checkpoint and a half: the first is written, the second is refused before a byte of it.
        var spec = Factory.LongSpec();
        spec["keep_checkpoints"] = true;
        var full = await SeededApiFactory.Accepted(client.PostAsJsonAsync("/jobs", spec));
        var budget = Directory.GetFiles(Factory.StorageRoot, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) + CheckpointBytes() * 3 / 2;
        using (var worker = HostProcess.Start("FineTuneService.Worker", new Dictionary<string, string>(Factory.HostSettings) { ["Storage:MaxBytes"] = budget.ToString() }))
        {
            var failed = await Poll.Until(() => Job(full), j => Status(j) is "failed" or "succeeded", TimeSpan.FromSeconds(240), j => $"{j}\n{worker.Log}");
            Assert.Equal("failed", Status(failed));
            Assert.Contains("No room for the checkpoint at step 40", failed.GetProperty("error").GetString());
            Assert.Contains("Storage:MaxBytes", failed.GetProperty("error").GetString());
            Assert.False(worker.HasExited);
            // keep_checkpoints: the rest of the work folder goes, its checkpoints stay.
            await Poll.Until(() => Task.FromResult(Factory.StoredFiles(Path.Combine("jobs", Guid.Parse(full).ToString("N")))),
                files => files.All(f => f.Contains(Path.Combine("checkpoints", "checkpoint-20"))), TimeSpan.FromSeconds(20), files => string.Join(", ", files));
        }
        var checkpoints = Path.Combine(Factory.StorageRoot, "jobs", Guid.Parse(full).ToString("N"), "checkpoints");
        Assert.Equal(["checkpoint-20"], Directory.GetDirectories(checkpoints).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(checkpoints, "checkpoint-20", "model.safetensors")));
        Assert.Equal(20, (await client.GetFromJsonAsync<JsonElement>($"/jobs/{full}/checkpoints")).GetProperty("items")[0].GetProperty("step").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{full}")).StatusCode);
        Assert.Empty(Factory.StoredFiles(Path.Combine("jobs", Guid.Parse(full).ToString("N"))));
    }
}
