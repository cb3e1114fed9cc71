using FineTuneService.Training.Models;

namespace FineTuneService.Training.Data;

/// <summary>Examples the Trainer batches by index, read from an <see cref="ExampleFile"/> (fine-tune and pretraining
/// datasets alike). Batch order and padding are the data's business; so are the task metrics of an evaluation pass.</summary>
public interface ITrainingData
{
    int Count { get; }

    /// <summary>The training batches of one epoch as example indices: a pure function of (seed, epoch), so a resumed
    /// run replays the same order.</summary>
    int[][] TrainBatches(int batchSize, int seed, int epoch, bool groupByLength);

    /// <summary>Evaluation batches in dataset order.</summary>
    int[][] EvalBatches(int batchSize);

    Batch Collate(IReadOnlyList<int> indices);

    /// <summary>A fresh accumulator for one evaluation pass. <paramref name="labelNames"/>: id → label of a
    /// classification head (token classification reports entities by them); empty for language models.</summary>
    IEvaluation StartEvaluation(IReadOnlyList<string> labelNames);
}
