using FineTuneService.Training.Data;

namespace FineTuneService.Training.Jobs;

/// <summary>A fine-tune job's labels and its training and evaluation examples (<see cref="FineTuneJob.OpenData"/>).</summary>
public sealed record FineTuneData(string[] Labels, FineTuneDataset Train, FineTuneDataset? Eval) : IDisposable
{
    public void Dispose()
    {
        Train.Dispose();
        Eval?.Dispose();
    }
}
