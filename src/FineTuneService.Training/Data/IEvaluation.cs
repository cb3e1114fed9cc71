using FineTuneService.Training.Models;

namespace FineTuneService.Training.Data;

/// <summary>Task metrics accumulated over an evaluation pass, batch by batch (without the eval_ prefix).</summary>
public interface IEvaluation
{
    void Add(IReadOnlyList<int> indices, Batch batch, ModelOutput output);

    IReadOnlyDictionary<string, double> Metrics();
}
