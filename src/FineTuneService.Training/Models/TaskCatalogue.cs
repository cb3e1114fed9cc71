namespace FineTuneService.Training.Models;

/// <summary>Every job type and task we train, one entry each (the families that can take a task are those with its head,
/// <see cref="ModelCatalogue"/>). The job spec check, both jobs, the API's documentation and the inference host read
/// their rules here: a new task is an entry here and its head in the families' files.</summary>
public static class TaskCatalogue
{
    public static readonly JobType FineTune = new("finetune", "rows");
    public static readonly JobType Pretrain = new("pretrain", "documents");
    public static readonly IReadOnlyList<JobType> JobTypes = [FineTune, Pretrain];

    static readonly string[] ClassificationMetrics = ["eval_loss", "eval_accuracy", "eval_f1", "eval_precision", "eval_recall", "eval_mcc"];
    static readonly string[] TextColumns = [TrainingTask.TextColumn, TrainingTask.TextPairColumn, TrainingTask.LabelColumn];

    public static readonly IReadOnlyList<TrainingTask> All =
    [
        new("sequence_classification", FineTune, ModelTask.SequenceClassification, ModelKind.SequenceClassification,
            "a text, or a pair of texts (columns.text_pair), into one of the label column's classes; several with multi_label")
        {
            Columns = TextColumns, Labels = LabelKind.SingleLabel, ProblemType = ModelConfig.SingleLabel, MinLabels = 2,
            Hyperparameters = ["multi_label", "class_weights"], Metrics = ClassificationMetrics,
            MultiLabel = new("sequence_classification", FineTune, ModelTask.SequenceClassification, ModelKind.MultiLabelClassification,
                "a text, or a pair, into any of the labels its label cell lists (a JSON array or a|b)")
            {
                Columns = TextColumns, Labels = LabelKind.MultiLabel, ProblemType = ModelConfig.MultiLabel, MinLabels = 2,
                Hyperparameters = ["multi_label"], Metrics = ["eval_loss", "eval_f1_micro", "eval_f1_macro", "eval_exact_match"],
            },
        },
        new("regression", FineTune, ModelTask.SequenceClassification, ModelKind.Regression,
            "a text, or a pair, to the number in its label column")
        {
            Columns = TextColumns, Labels = LabelKind.Regression, ProblemType = ModelConfig.Regression,
            Metrics = ["eval_loss", "eval_mse", "eval_mae", "eval_pearson", "eval_spearman", "eval_r2"],
        },
        new("token_classification", FineTune, ModelTask.TokenClassification, ModelKind.TokenClassification,
            "each word of the text column to its IOB2 tag in the label column")
        {
            Columns = [TrainingTask.TextColumn, TrainingTask.LabelColumn], Labels = LabelKind.Token, MinLabels = 2,
            Hyperparameters = ["label_all_tokens"], Metrics = ["eval_loss", "eval_precision", "eval_recall", "eval_f1", "eval_accuracy"],
        },
        new("mlm", Pretrain, ModelTask.MaskedLM, ModelKind.Mlm, "masked-language modelling of a corpus")
        {
            Hyperparameters = ["mlm_probability", "whole_word_mask"], Metrics = ["eval_loss", "eval_perplexity", "eval_mlm_accuracy"],
        },
        new("mlm_nsp", Pretrain, ModelTask.PreTraining, ModelKind.Mlm, "masked-language modelling and next-sentence prediction (BERT's pretraining)")
        {
            Hyperparameters = ["mlm_probability", "whole_word_mask", "short_seq_prob"],
            Metrics = ["eval_loss", "eval_perplexity", "eval_mlm_accuracy", "eval_nsp_accuracy"],
        },
        new("clm", Pretrain, ModelTask.CausalLM, ModelKind.Clm, "causal-language modelling of a corpus (next-token prediction)")
        {
            Metrics = ["eval_loss", "eval_perplexity"],
        },
    ];

    /// <summary>Every task with its variants.</summary>
    static readonly TrainingTask[] Variants = [.. All.SelectMany(t => t.MultiLabel is { } v ? new[] { t, v } : [t])];

    /// <summary>The hyperparameters that only some tasks take.</summary>
    public static readonly IReadOnlyList<string> TaskHyperparameters = [.. Variants.SelectMany(t => t.Hyperparameters).Distinct()];

    public static JobType? FindJobType(string? name) => JobTypes.FirstOrDefault(j => j.Name == name);

    public static IEnumerable<TrainingTask> Of(JobType job) => All.Where(t => t.Job == job);

    public static TrainingTask? Find(string? jobType, string? task) => All.FirstOrDefault(t => t.Job.Name == jobType && t.Name == task);

    /// <summary>What is wrong with a spec's type and task, worded once; null when the catalogue has the task.</summary>
    public static (JobField Field, string Message)? Refusal(string? jobType, string? task) => FindJobType(jobType) switch
    {
        null when jobType is null => (JobField.Type, $"required: {Names(JobTypes.Select(j => j.Name), "or")}"),
        null => (JobField.Type, $"'{jobType}' is not a job type; use {Names(JobTypes.Select(j => j.Name), "or")}"),
        { } job when Find(jobType, task) is null => (JobField.Task, $"'{task}' is not a {job.Name} task; use one of {string.Join(", ", Of(job).Select(t => t.Name))}"),
        _ => null,
    };

    /// <summary>What is wrong with giving <paramref name="hyperparameter"/> to <paramref name="task"/>: null when the task takes
    /// it or every task does.</summary>
    public static string? HyperparameterRefusal(TrainingTask task, string hyperparameter)
    {
        if (task.Hyperparameters.Contains(hyperparameter) || !TaskHyperparameters.Contains(hyperparameter)) return null;
        // A task all of whose variants take it is named plainly; otherwise the variants that do.
        var owners = Variants.Where(t => t.Hyperparameters.Contains(hyperparameter)).GroupBy(t => t.Name)
            .SelectMany(g => g.Count() == Variants.Count(v => v.Name == g.Key) ? [g.Key] : g.Select(t => t.Title));
        return $"applies to {Names(owners, "and")} only";
    }

    /// <summary>The task whose model a <c>config.json</c> describes, by its head and <c>problem_type</c> (a sequence
    /// classifier without one is a regression when it has one label, as in Hugging Face, and one with a problem_type we do
    /// not know a single-label classifier); null for a bare encoder or an architecture we do not build.</summary>
    public static TrainingTask? OfModel(ModelConfig config)
    {
        if (ModelCatalogue.Head(config.Architectures?.FirstOrDefault()) is not { } head) return null;
        var candidates = Variants.Where(t => t.Head == head.Task).ToArray();
        var problemType = config.ProblemType ?? (config.NumLabels == 1 ? ModelConfig.Regression : ModelConfig.SingleLabel);
        return candidates.FirstOrDefault(t => t.ProblemType == problemType) ?? candidates.FirstOrDefault();
    }

    /// <summary>The model_types that can train <paramref name="task"/>: the families with its head.</summary>
    public static IReadOnlyList<string> Families(TrainingTask task) =>
        [.. ModelCatalogue.Families.Where(f => f.ArchitectureFor(task.Head) is not null).Select(f => f.ModelType)];

    /// <summary>The head the family's first pretraining task trains (masked LM, or causal LM for a decoder): what a bare
    /// base checkpoint of the family is loaded as.</summary>
    public static string PretrainingArchitecture(ModelFamily family) =>
        Of(Pretrain).Select(t => family.ArchitectureFor(t.Head)).First(a => a is not null)!;

    /// <summary>"a", "a or b", "a, b or c".</summary>
    static string Names(IEnumerable<string> names, string conjunction)
    {
        var list = names.ToArray();
        return list.Length < 2 ? string.Concat(list) : $"{string.Join(", ", list[..^1])} {conjunction} {list[^1]}";
    }
}
