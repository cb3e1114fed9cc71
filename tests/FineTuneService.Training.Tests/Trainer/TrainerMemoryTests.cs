namespace FineTuneService.Training.Tests.Trainer;

/// <summary>Runs alone: other test classes allocating in the same process would blur the RSS reading.</summary>
[Collection(nameof(RunsAlone))]
public class TrainerMemoryTests
{
    [Fact]
    public void MemoryStaysFlatOverAThousandSteps()
    {
        long rssAt100 = 0, rssAt1000 = 0;
        var observer = new RecordingObserver();
        observer.OnStep = step =>
        {
            if (step == 100) rssAt100 = Rss();
            if (step == 1000) rssAt1000 = Rss();
        };
        TrainerTests.Run(TrainerTests.Args("""{"max_steps": 1000, "save_strategy": "no", "logging_steps": 100}"""), TinyData.TempDir(), observer);
        Assert.True(rssAt1000 <= rssAt100 * 1.10, $"RSS {rssAt100 / 1024} MB at step 100, {rssAt1000 / 1024} MB at step 1000");
    }

    static long Rss() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:"))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
}
