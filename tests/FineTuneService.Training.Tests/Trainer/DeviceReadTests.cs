using System.Text.RegularExpressions;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Trainer;

/// <summary>No step reads a device value: the loop reads only to log, evaluate or checkpoint (each read would stall a
/// GPU's launch queue). The reads are counted where they all go, and the step's code is checked to read nowhere else.</summary>
[Collection(nameof(RunsAlone))]
public partial class DeviceReadTests
{
    [Fact]
    public void StepsBetweenLogsAndCheckpointsReadNothing()
    {
        var reads = new Dictionary<int, long>();
        var observer = new RecordingObserver { OnStep = step => reads[step] = DeviceRead.Count };
        TrainerTests.Run(TrainerTests.Args("""{"max_steps": 20, "logging_steps": 5, "save_steps": 7, "eval_strategy": "no"}"""), TinyData.TempDir(), observer);
        int[] readingSteps = [5, 7, 10, 14, 15];
        for (var step = 1; step < 20; step++)
        {
            var between = reads[step + 1] - reads[step];
            if (readingSteps.Contains(step)) Assert.True(between > 0, $"step {step} logged or saved without a read: the count misses reads");
            else Assert.True(between == 0, $"{between} device reads between steps {step} and {step + 1}, which neither log nor save");
        }
    }

    /// <summary>The step's code — the Trainer, the optimizer, the models' forward passes — reads values only through
    /// <see cref="DeviceRead"/>, so the count above sees every read.</summary>
    [Fact]
    public void TheStepsCodeReadsOnlyThroughDeviceRead()
    {
        var training = Path.Combine(Fixtures.Repository, "src", "FineTuneService.Training");
        var files = new[] { "Trainer/Trainer.cs", "Trainer/FlatAdamW.cs" }.Select(f => Path.Combine(training, f))
            .Concat(Directory.GetFiles(Path.Combine(training, "Models"), "*.cs").Where(f => Path.GetFileName(f) != "ModelFolder.cs"))
            .ToArray();
        Assert.True(files.Length >= 6, string.Join(", ", files));
        var offenders = files.SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(l => Read().IsMatch(l.Text)).Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}").ToArray();
        Assert.True(offenders.Length == 0, "reads of tensor values outside DeviceRead:\n" + string.Join("\n", offenders));
    }

    [GeneratedRegex(@"\.(item<|data<|bytes\b|ToSingle\(|ToDouble\(|ToInt64\(|ToInt32\(|ToScalar\(|ToBoolean\()")]
    private static partial Regex Read();
}
