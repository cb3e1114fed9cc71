using System.Text.Json.Nodes;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Jobs;

/// <summary>Everything the core needs to run one job. Paths are absolute; the platform builds it from the job row.
/// Type and Task are a job type and one of its tasks in <see cref="TaskCatalogue"/>.
/// <see cref="Budget"/> bounds the model it may build.</summary>
public sealed record TrainingJobRequest(
    string JobId,
    string Type,
    string Task,
    DataFile Train,
    DataFile? Validation,
    double? ValidationSplit,
    ColumnMap Columns,
    JsonObject Hyperparameters,
    string? BaseModelDir,
    JsonObject? ModelShape,
    JsonObject? TokenizerSpec,
    string WorkDir,
    string OutputModelDir,
    string Device = "auto",
    ModelBudget? Budget = null)
{
    /// <summary>The largest model the job may build; <see cref="ModelBudget.Default"/> unless the host configures one.</summary>
    public ModelBudget ModelBudget => Budget ?? ModelBudget.Default;

    /// <summary>Where checkpoint-&lt;step&gt; folders go; a job resumes from the newest one there.</summary>
    public string CheckpointsDir => Path.Combine(WorkDir, "checkpoints");
}
