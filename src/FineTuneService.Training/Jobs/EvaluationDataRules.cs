namespace FineTuneService.Training.Jobs;

/// <summary>The rules on a job's evaluation data, worded once for every job type and for the Platform's spec check.</summary>
public static class EvaluationDataRules
{
    /// <summary>What is wrong with <paramref name="split"/>, given whether a validation dataset is named too; null when nothing.</summary>
    public static string? SplitError(double? split, bool hasValidationDataset) => split switch
    {
        null => null,
        <= 0 or >= 1 or double.NaN => "must be between 0 and 1 (exclusive)",
        _ when hasValidationDataset => "give a validation split or a validation dataset, not both",
        _ => null,
    };

    /// <summary>Evaluating needs data to evaluate on.</summary>
    public static string? EvalStrategyError(string evalStrategy, bool hasValidationDataset, double? split) =>
        evalStrategy != "no" && !hasValidationDataset && split is null ? "needs a validation dataset or a validation split" : null;
}
