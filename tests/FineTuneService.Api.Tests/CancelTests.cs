namespace FineTuneService.Api.Tests;

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
