namespace FineTuneService.Training.Tests;

public class SmokeTests
{
    [Fact]
    public void TorchLoads() => Assert.StartsWith("torch 2.10", TorchInfo.Describe());
}
