using System.Text.Json.Nodes;

namespace FineTuneService.Training.Jobs;

/// <summary>Which columns of a tabular dataset feed the model.</summary>
public sealed record ColumnMap(string Text = "text", string? TextPair = null, string? Label = "label");

/// <summary>A data file on the artifacts volume. Format: csv, tsv, jsonl, txt (corpus); Path may end in .gz.
/// <see cref="Summary"/>: what its upload's inspection recorded, so a job is checked without reading the file again.</summary>
public sealed record DataFile(string Path, string Format, Data.TabularSummary? Summary = null);

/// <summary>Everything the core needs to run one job. Paths are absolute; the platform builds it from the job row.
/// Type: finetune | pretrain. Task: sequence_classification | regression | token_classification | mlm | mlm_nsp | clm.
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
    Models.ModelBudget? Budget = null)
{
    /// <summary>The largest model the job may build; <see cref="Models.ModelBudget.Default"/> unless the host configures one.</summary>
    public Models.ModelBudget ModelBudget => Budget ?? Models.ModelBudget.Default;
}

/// <summary>How a job reports back; the platform writes these to the database.</summary>
public interface ITrainingObserver
{
    void Progress(int step, int totalSteps, double epoch);
    void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values);
    /// <summary>Before a checkpoint of about <paramref name="bytes"/> is written; throwing stops the job with nothing written.</summary>
    void BeforeCheckpoint(int step, long bytes) { }
    void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics);
    void Event(string message);
}

/// <summary>What a finished job leaves: the Hugging Face folder of the result model and its last metrics.</summary>
public sealed record TrainingJobResult(string ModelDir, IReadOnlyDictionary<string, double> FinalMetrics);

/// <summary>The storage budget has no room for what the job is about to write.</summary>
public sealed class InsufficientStorageException(string message) : IOException(message);
