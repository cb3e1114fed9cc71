using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FineTuneService.Training.Trainer;

/// <summary>Hyperparameters with Hugging Face <c>TrainingArguments</c> names and defaults (snake_case on the wire),
/// plus the fine-tune knobs of HF's example scripts (max_seq_length, label_all_tokens) and EarlyStoppingCallback's
/// patience/threshold. Differences from HF: group_by_length defaults to true (dynamic padding is our speed lever);
/// linear_with_warmup / cosine_with_warmup are accepted as the names of HF's linear / cosine (which warm up already).
/// multi_label: the label column holds several labels per row, as a JSON array or separated by '|'.</summary>
public sealed record TrainingArguments
{
    public double NumTrainEpochs { get; init; } = 3;
    public int MaxSteps { get; init; } = -1;
    public double LearningRate { get; init; } = 5e-5;
    public int PerDeviceTrainBatchSize { get; init; } = 8;
    public int PerDeviceEvalBatchSize { get; init; } = 8;
    public double WeightDecay { get; init; }
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;
    public double WarmupRatio { get; init; }
    public int WarmupSteps { get; init; }
    public string LrSchedulerType { get; init; } = "linear";
    public double MaxGradNorm { get; init; } = 1.0;
    public int GradientAccumulationSteps { get; init; } = 1;
    public string EvalStrategy { get; init; } = "no";
    public int? EvalSteps { get; init; }
    public int LoggingSteps { get; init; } = 500;
    public string SaveStrategy { get; init; } = "steps";
    public int SaveSteps { get; init; } = 500;
    public int? SaveTotalLimit { get; init; }
    public bool LoadBestModelAtEnd { get; init; }
    public string? MetricForBestModel { get; init; }
    public bool? GreaterIsBetter { get; init; }
    public int? EarlyStoppingPatience { get; init; }
    public double EarlyStoppingThreshold { get; init; }
    public int Seed { get; init; } = 42;
    public int MaxSeqLength { get; init; } = 128;
    public bool FreezeEmbeddings { get; init; }
    public int FreezeLayers { get; init; }
    public bool GroupByLength { get; init; } = true;
    public double[]? ClassWeights { get; init; }
    public bool MultiLabel { get; init; }
    public bool LabelAllTokens { get; init; }
    /// <summary>bfloat16 forward and backward with float32 master weights and optimizer state (CUDA, or a CPU with
    /// AVX-512 BF16 / AMX); tf32: TensorFloat-32 matrix products on CUDA (null: libtorch's default).</summary>
    public bool Bf16 { get; init; }
    public bool? Tf32 { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public static readonly IReadOnlyList<string> SchedulerTypes =
        ["linear", "cosine", "constant", "constant_with_warmup", "linear_with_warmup", "cosine_with_warmup"];
    static readonly string[] Strategies = ["no", "steps", "epoch"];

    static readonly Dictionary<string, System.Reflection.PropertyInfo> Properties = typeof(TrainingArguments)
        .GetProperties().Where(p => p.CanWrite)
        .ToDictionary(p => JsonOptions.PropertyNamingPolicy!.ConvertName(p.Name));

    public static IEnumerable<string> Names => Properties.Keys;

    /// <summary>The metric name as reported by evaluation (HF adds the eval_ prefix when missing).</summary>
    [JsonIgnore]
    public string BestMetricKey => MetricForBestModel!.StartsWith("eval_", StringComparison.Ordinal)
        ? MetricForBestModel : "eval_" + MetricForBestModel;

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, JsonOptions)!.AsObject();

    /// <summary>Reads user hyperparameters; errors are keyed by the hyperparameter (<see cref="JobField.Hyperparameter"/>). The result has HF's
    /// derived defaults resolved (eval_steps, metric_for_best_model, greater_is_better, scheduler aliases).</summary>
    public static TrainingArguments Parse(JsonObject? hyperparameters, out Dictionary<JobField, string[]> errors)
    {
        var found = new Dictionary<JobField, List<string>>();
        void Error(string name, string message) =>
            (found.TryGetValue(JobField.Hyperparameter(name), out var l) ? l : found[JobField.Hyperparameter(name)] = []).Add(message);

        var accepted = new JsonObject();
        foreach (var (name, node) in hyperparameters ?? new JsonObject())
        {
            if (!Properties.TryGetValue(name, out var property))
            {
                Error(name, $"'{name}' is not a known hyperparameter.");
                continue;
            }
            var type = property.PropertyType;
            var nullable = !type.IsValueType || Nullable.GetUnderlyingType(type) is not null;
            if (node is null)
            {
                if (!nullable || type == typeof(string)) Error(name, $"'{name}' must not be null.");
                else accepted[name] = null;
                continue;
            }
            try
            {
                node.Deserialize(type, JsonOptions);
                accepted[name] = node.DeepClone();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                Error(name, $"'{name}' must be {TypeName(Nullable.GetUnderlyingType(type) ?? type)}.");
            }
        }

        var args = accepted.Deserialize<TrainingArguments>(JsonOptions)!;
        if (found.Count == 0) args = args.Resolve(Error);
        errors = found.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        return args;
    }

    static string TypeName(Type t) =>
        t == typeof(int) ? "an integer" : t == typeof(double) ? "a number" : t == typeof(bool) ? "true or false"
        : t == typeof(string) ? "a string" : t == typeof(double[]) ? "an array of numbers" : t.Name;

    TrainingArguments Resolve(Action<string, string> error)
    {
        if (NumTrainEpochs <= 0 && MaxSteps <= 0) error("num_train_epochs", "must be > 0 (or set max_steps > 0).");
        if (MaxSteps == 0 || MaxSteps < -1) error("max_steps", "must be -1 (use num_train_epochs) or > 0.");
        if (LearningRate is <= 0 or > 1) error("learning_rate", "must be in (0, 1].");
        if (PerDeviceTrainBatchSize is < 1 or > 4096) error("per_device_train_batch_size", "must be in [1, 4096].");
        if (PerDeviceEvalBatchSize is < 1 or > 4096) error("per_device_eval_batch_size", "must be in [1, 4096].");
        if (WeightDecay < 0) error("weight_decay", "must be >= 0.");
        if (AdamBeta1 is < 0 or >= 1) error("adam_beta1", "must be in [0, 1).");
        if (AdamBeta2 is < 0 or >= 1) error("adam_beta2", "must be in [0, 1).");
        if (AdamEpsilon < 0) error("adam_epsilon", "must be >= 0.");
        if (WarmupRatio is < 0 or > 1) error("warmup_ratio", "must be in [0, 1].");
        if (WarmupSteps < 0) error("warmup_steps", "must be >= 0.");
        if (!SchedulerTypes.Contains(LrSchedulerType))
            error("lr_scheduler_type", $"must be one of {string.Join(", ", SchedulerTypes)}.");
        if (MaxGradNorm < 0) error("max_grad_norm", "must be >= 0 (0 disables clipping).");
        if (GradientAccumulationSteps < 1) error("gradient_accumulation_steps", "must be >= 1.");
        if (!Strategies.Contains(EvalStrategy)) error("eval_strategy", "must be one of no, steps, epoch.");
        if (EvalSteps is < 1) error("eval_steps", "must be >= 1.");
        if (LoggingSteps < 1) error("logging_steps", "must be >= 1.");
        if (!Strategies.Contains(SaveStrategy)) error("save_strategy", "must be one of no, steps, epoch.");
        if (SaveSteps < 1) error("save_steps", "must be >= 1.");
        if (SaveTotalLimit is < 1) error("save_total_limit", "must be >= 1.");
        if (EarlyStoppingPatience is < 1) error("early_stopping_patience", "must be >= 1.");
        if (EarlyStoppingThreshold < 0) error("early_stopping_threshold", "must be >= 0.");
        if (MaxSeqLength is < 8 or > 8192) error("max_seq_length", "must be in [8, 8192].");
        if (FreezeLayers < 0) error("freeze_layers", "must be >= 0.");
        if (ClassWeights is { } w && (w.Length == 0 || w.Any(x => x <= 0 || !double.IsFinite(x))))
            error("class_weights", "must be a non-empty array of positive numbers, one per label.");

        var evalSteps = EvalStrategy == "steps" ? EvalSteps ?? LoggingSteps : EvalSteps;
        var wantsBest = LoadBestModelAtEnd || EarlyStoppingPatience is not null;
        var metric = MetricForBestModel ?? (wantsBest ? "loss" : null);
        if (wantsBest && EvalStrategy == "no")
            error(LoadBestModelAtEnd ? "load_best_model_at_end" : "early_stopping_patience", "needs eval_strategy steps or epoch.");
        if (LoadBestModelAtEnd && SaveStrategy != EvalStrategy)
            error("save_strategy", $"must match eval_strategy ('{EvalStrategy}') when load_best_model_at_end is true.");
        if (LoadBestModelAtEnd && EvalStrategy == "steps" && SaveStrategy == "steps" && SaveSteps % evalSteps!.Value != 0)
            error("save_steps", $"must be a multiple of eval_steps ({evalSteps}) when load_best_model_at_end is true.");
        return this with
        {
            LrSchedulerType = LrSchedulerType switch { "linear_with_warmup" => "linear", "cosine_with_warmup" => "cosine", var s => s },
            EvalSteps = evalSteps,
            MetricForBestModel = metric,
            GreaterIsBetter = GreaterIsBetter ?? (metric is null ? null : !metric.EndsWith("loss", StringComparison.Ordinal)),
        };
    }
}
