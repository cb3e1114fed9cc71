using System.Text.Json.Nodes;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Trainer;

/// <summary>Every hyperparameter name with its type, default, range and a one-line description: what the OpenAPI
/// document and the dashboard's form show. The defaults are <see cref="TrainingArguments"/>' own (Hugging Face's);
/// the ranges are those its validation enforces. A test keeps the list and <see cref="TrainingArguments.Names"/> equal.</summary>
public static class HyperparameterCatalog
{
    static readonly JsonObject Defaults = new TrainingArguments().ToJson();

    static HyperparameterInfo Arg(string name, string type, string description, double? min = null, double? max = null,
        bool exclusiveMin = false, bool exclusiveMax = false, IReadOnlyList<string>? values = null, bool nullable = false) =>
        new(name, type, Defaults[name]?.DeepClone(), description, min, max, exclusiveMin, exclusiveMax, values, nullable);

    /// <summary>A pretraining objective's own setting (not a <see cref="TrainingArguments"/> name), for the tasks whose
    /// <see cref="TaskCatalogue"/> entry takes it.</summary>
    static HyperparameterInfo Objective(string name, string type, JsonNode @default, string description, double? min = null, double? max = null,
        bool exclusive = false)
    {
        var tasks = string.Join(", ", TaskCatalogue.All.Where(t => t.Hyperparameters.Contains(name)).Select(t => t.Name));
        return new(name, type, @default, $"Pretraining ({tasks}): {description}", min, max, exclusive, exclusive, AppliesTo: tasks);
    }

    static readonly string[] Strategies = ["no", "steps", "epoch"];

    public static IReadOnlyList<HyperparameterInfo> All { get; } =
    [
        Arg("num_train_epochs", "number", "Epochs to train (fractions allowed); ignored when max_steps > 0.", 0, exclusiveMin: true),
        Arg("max_steps", "integer", "Optimizer steps to train; -1 uses num_train_epochs.", -1),
        Arg("learning_rate", "number", "Peak AdamW learning rate.", 0, 1, exclusiveMin: true),
        Arg("per_device_train_batch_size", "integer", "Training examples per batch.", 1, 4096),
        Arg("per_device_eval_batch_size", "integer", "Evaluation examples per batch.", 1, 4096),
        Arg("weight_decay", "number", "AdamW weight decay (not applied to biases and LayerNorm weights).", 0),
        Arg("adam_beta1", "number", "AdamW beta1.", 0, 1, exclusiveMax: true),
        Arg("adam_beta2", "number", "AdamW beta2.", 0, 1, exclusiveMax: true),
        Arg("adam_epsilon", "number", "AdamW epsilon.", 0),
        Arg("warmup_ratio", "number", "Fraction of the steps spent warming the learning rate up from 0.", 0, 1),
        Arg("warmup_steps", "integer", "Warm-up steps; overrides warmup_ratio when > 0.", 0),
        Arg("lr_scheduler_type", "string", "Learning-rate schedule after warm-up.", values: TrainingArguments.SchedulerTypes),
        Arg("max_grad_norm", "number", "Gradient clipping norm; 0 disables clipping.", 0),
        Arg("gradient_accumulation_steps", "integer", "Batches whose gradients are summed per optimizer step.", 1),
        Arg("eval_strategy", "string", "When to evaluate: never, every eval_steps, or every epoch.", values: Strategies),
        Arg("eval_steps", "integer", "Steps between evaluations with eval_strategy steps; default logging_steps.", 1, nullable: true),
        Arg("logging_steps", "integer", "Steps between loss / learning-rate metric points.", 1),
        Arg("save_strategy", "string", "When to checkpoint: never, every save_steps, or every epoch.", values: Strategies),
        Arg("save_steps", "integer", "Steps between checkpoints with save_strategy steps.", 1),
        Arg("save_total_limit", "integer", "Checkpoints kept (the best one is never removed); null keeps all.", 1, nullable: true),
        Arg("load_best_model_at_end", "boolean", "The result model is the checkpoint with the best metric_for_best_model."),
        Arg("metric_for_best_model", "string", "Metric that picks the best checkpoint (eval_ prefix optional); default loss.", nullable: true),
        Arg("greater_is_better", "boolean", "Whether a larger metric_for_best_model is better; default: false for losses.", nullable: true),
        Arg("early_stopping_patience", "integer", "Stop after this many evaluations without improvement; null never stops early.", 1, nullable: true),
        Arg("early_stopping_threshold", "number", "Improvement smaller than this counts as none.", 0),
        Arg("seed", "integer", "Seeds weights initialisation, dropout and the data order."),
        Arg("max_seq_length", "integer", "Tokens per example; longer texts are truncated.", 8, 8192),
        Arg("freeze_embeddings", "boolean", "Keep the embedding layer's weights fixed."),
        Arg("freeze_layers", "integer", "Keep the bottom N encoder layers fixed.", 0),
        Arg("group_by_length", "boolean", "Batch examples of similar length, padded only to their longest."),
        Arg("class_weights", "array", "Loss weight per label id (sequence classification), each > 0.", nullable: true),
        Arg("multi_label", "boolean", "A label cell holds several labels (JSON array or a|b); sigmoid loss."),
        Arg("label_all_tokens", "boolean", "Token classification: tag every sub-token, not only a word's first."),
        Arg("bf16", "boolean", "bfloat16 forward and backward with float32 master weights and optimizer state (CUDA, or a CPU with AVX-512 BF16 / AMX)."),
        Arg("tf32", "boolean", "TensorFloat-32 matrix products on CUDA; null keeps libtorch's default.", nullable: true),
        Objective("mlm_probability", "number", 0.15, "fraction of tokens masked.", 0, 1, exclusive: true),
        Objective("whole_word_mask", "boolean", false, "mask all pieces of a word together."),
        Objective("short_seq_prob", "number", 0.1, "probability of a shorter target length per pair.", 0, 1),
    ];

}
