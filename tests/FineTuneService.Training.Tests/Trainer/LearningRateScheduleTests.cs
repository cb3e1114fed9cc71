using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Trainer;

public class LearningRateScheduleTests
{
    // Hugging Face get_scheduler lambdas evaluated by hand: warmup 2, 10 training steps.
    [Theory]
    [InlineData("linear", 0, 0.0)]
    [InlineData("linear", 1, 0.5)]
    [InlineData("linear", 2, 1.0)]
    [InlineData("linear", 6, 0.5)]
    [InlineData("linear", 10, 0.0)]
    [InlineData("cosine", 1, 0.5)]
    [InlineData("cosine", 4, 0.8535533905932737)]
    [InlineData("cosine", 6, 0.5)]
    [InlineData("cosine", 10, 0.0)]
    [InlineData("constant_with_warmup", 1, 0.5)]
    [InlineData("constant_with_warmup", 9, 1.0)]
    [InlineData("constant", 0, 1.0)]
    public void FactorsMatchHuggingFace(string type, int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedule.Factor(type, step, warmupSteps: 2, totalSteps: 10), 12);

    [Fact]
    public void WarmupRatioRoundsUpAndWarmupStepsWin()
    {
        Assert.Equal(3, LearningRateSchedule.WarmupSteps(new TrainingArguments { WarmupRatio = 0.1 }, 25));
        Assert.Equal(7, LearningRateSchedule.WarmupSteps(new TrainingArguments { WarmupRatio = 0.1, WarmupSteps = 7 }, 25));
    }
}
