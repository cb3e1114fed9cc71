namespace FineTuneService.Training.Data;

/// <summary>One tokenized example. ClassId for single-label; Targets: multi-hot (multi-label) or [value] (regression);
/// TokenLabels: one class id per token, -100 where no label applies.</summary>
public sealed record FineTuneExample(int[] InputIds, int[] TokenTypeIds, long ClassId = 0, float[]? Targets = null, long[]? TokenLabels = null);
