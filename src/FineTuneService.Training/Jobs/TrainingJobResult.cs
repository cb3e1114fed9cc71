namespace FineTuneService.Training.Jobs;

/// <summary>What a finished job leaves: the Hugging Face folder of the result model and its last metrics.</summary>
public sealed record TrainingJobResult(string ModelDir, IReadOnlyDictionary<string, double> FinalMetrics);
