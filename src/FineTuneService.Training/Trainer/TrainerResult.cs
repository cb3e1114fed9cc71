namespace FineTuneService.Training.Trainer;

/// <summary>What training leaves: the last step, the final metrics (train_* plus the eval_* of the kept model)
/// and the checkpoint whose weights the model holds when load_best_model_at_end.</summary>
public sealed record TrainerResult(int GlobalStep, IReadOnlyDictionary<string, double> Metrics, string? BestCheckpoint);
