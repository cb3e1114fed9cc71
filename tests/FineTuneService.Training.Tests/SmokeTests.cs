namespace FineTuneService.Training.Tests;

public class SmokeTests
{
    [Fact]
    public void LibTorchLoads() => Assert.StartsWith("2.10", TorchSharp.torch.__version__);
}
