namespace FineTuneService.Training.Models;

/// <summary>One task a job trains, as <see cref="TaskCatalogue"/> lists it: its name in a job spec, the job type that runs
/// it, the head it trains (every family whose <see cref="ModelFamily.Heads"/> has that head can take it), what the trained
/// model predicts, and a line for the API's documentation. The properties are the task's rules, which the jobs check
/// and the Platform reads: the columns its data is read from, how its labels read (fine-tune tasks) and the config.json
/// <c>problem_type</c> its model is saved with, the fewest distinct labels it trains on, the hyperparameters only it
/// takes, and the evaluation metrics it reports (what <c>metric_for_best_model</c> may name).
/// <see cref="MultiLabel"/> is the variant the <c>multi_label</c> hyperparameter selects.</summary>
public sealed record TrainingTask(string Name, JobType Job, ModelTask Head, ModelKind Predicts, string Summary)
{
    public const string TextColumn = "text", TextPairColumn = "text_pair", LabelColumn = "label";

    /// <summary>The columns of a job's <c>columns</c> the task reads; the others are not looked at.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [TextColumn];

    /// <summary>How the label column reads; null for a task without labels (pretraining).</summary>
    public LabelKind? Labels { get; init; }

    /// <summary>The config.json <c>problem_type</c> of the model the task trains (sequence classifiers only).</summary>
    public string? ProblemType { get; init; }

    /// <summary>The fewest distinct labels the training data must have.</summary>
    public int MinLabels { get; init; }

    /// <summary>The hyperparameters that only some tasks take, those this one does (<see cref="TaskCatalogue.TaskHyperparameters"/>).</summary>
    public IReadOnlyList<string> Hyperparameters { get; init; } = [];

    /// <summary>The <c>eval_*</c> metrics an evaluation of this task reports.</summary>
    public IReadOnlyList<string> Metrics { get; init; } = ["eval_loss"];

    /// <summary>The variant of this task the <c>multi_label</c> hyperparameter selects, if it has one.</summary>
    public TrainingTask? MultiLabel { get; init; }

    /// <summary>This task, or its multi-label variant when <paramref name="multiLabel"/> and it has one.</summary>
    public TrainingTask For(bool multiLabel) => multiLabel && MultiLabel is { } variant ? variant : this;

    public bool Reads(string column) => Columns.Contains(column);

    /// <summary>The task's name, with "multi-label" or "single-label" where its variants differ.</summary>
    public string Title => Labels switch
    {
        LabelKind.MultiLabel => $"multi-label {Name}",
        LabelKind.SingleLabel when MultiLabel is not null => $"single-label {Name}",
        _ => Name,
    };
}
