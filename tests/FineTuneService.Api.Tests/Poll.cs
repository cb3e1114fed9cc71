using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace FineTuneService.Api.Tests;

static class Poll
{
    /// <summary>Polls until <paramref name="done"/> holds; fails with <paramref name="why"/> (e.g. a worker's log) after the timeout.</summary>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Func<T, string> why, int intervalMs = 100)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (clock.Elapsed > timeout) Assert.Fail($"not done after {timeout.TotalSeconds} s: {why(value)}");
            await Task.Delay(intervalMs);
        }
    }

    /// <summary>Waits for a job to finish and asserts that it succeeded; <paramref name="logs"/> explain a failure.</summary>
    public static async Task<JsonElement> Succeeded(HttpClient api, string id, Func<string> logs)
    {
        var job = await Until(() => api.GetFromJsonAsync<JsonElement>($"/jobs/{id}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(300), j => $"{j}\n{logs()}", intervalMs: 500);
        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}\n{logs()}");
        return job;
    }

    /// <summary>Waits for a finished job's work folder to go: the worker removes it just after it records the job's end.</summary>
    public static Task WorkFolderGone(ApiFactory factory, string jobId, Func<string> logs) =>
        Until(() => Task.FromResult(factory.StoredFiles(Path.Combine("jobs", Guid.Parse(jobId).ToString("N")))), files => files.Count == 0,
            TimeSpan.FromSeconds(20), files => $"left behind: {string.Join(", ", files)}\n{logs()}");
}
