using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Jobs;

/// <summary>The pretraining part of a job spec, checked: the objective (<c>mlm</c>, <c>mlm_nsp</c>, <c>clm</c>) and
/// its own hyperparameters (<c>mlm_probability</c>, <c>whole_word_mask</c>, <c>short_seq_prob</c>, which Hugging Face
/// gives its data collators rather than <c>TrainingArguments</c>), the model to start from (a base model folder, or
/// a <c>config.json</c>-style shape plus a tokenizer to train) and the corpus files.</summary>
public sealed record PretrainingSpec(
    string Task,
    double MlmProbability,
    bool WholeWordMask,
    double ShortSeqProb,
    ModelConfig? Shape,
    TokenizerSettings? Tokenizer,
    JsonObject TrainerHyperparameters)
{
    public static readonly IReadOnlyList<string> Tasks = ["mlm", "mlm_nsp", "clm"];

    /// <summary>The objective's hyperparameters, which are not <c>TrainingArguments</c> names.</summary>
    public static readonly IReadOnlyList<string> ObjectiveHyperparameters = ["mlm_probability", "whole_word_mask", "short_seq_prob"];

    /// <summary>The head a pretraining task trains.</summary>
    public static ModelTask HeadTask(string task) => task switch
    {
        "mlm" => ModelTask.MaskedLM,
        "mlm_nsp" => ModelTask.PreTraining,
        _ => ModelTask.CausalLM,
    };

    /// <summary>The model_types a task can pretrain (from scratch, masked LMs with a WordPiece tokenizer trained on the corpus).</summary>
    public static IReadOnlyList<string> Architectures(string task) =>
        ModelCatalogue.Families.Where(f => f.ArchitectureFor(HeadTask(task)) is not null).Select(f => f.ModelType).ToArray();

    public bool IsCausal => Task == "clm";

    /// <summary>Parses and checks the pretraining parts of <paramref name="request"/>; problems go to
    /// <paramref name="errors"/> under the spec's field names (<c>model.hidden_size</c>, <c>tokenizer.vocab_size</c>,
    /// <c>hyperparameters.mlm_probability</c>, …). Returns null when there are any.</summary>
    public static PretrainingSpec? Parse(TrainingJobRequest request, Dictionary<string, string[]> errors)
    {
        void Error(string key, string message) => errors[key] = errors.TryGetValue(key, out var m) ? [.. m, message] : [message];
        var before = errors.Count;

        if (!Tasks.Contains(request.Task))
            Error("task", $"A pretraining task is one of {string.Join(", ", Tasks)}.");
        var causal = request.Task == "clm";
        if (!CorpusReader.Formats.Contains(request.Train.Format))
            Error("train_dataset_id", $"A pretraining corpus is {string.Join(" or ", CorpusReader.Formats)}, not {request.Train.Format}.");
        if (request.Validation is { } validation && !CorpusReader.Formats.Contains(validation.Format))
            Error("validation_dataset_id", $"A pretraining corpus is {string.Join(" or ", CorpusReader.Formats)}, not {validation.Format}.");
        if (EvaluationDataRules.SplitError(request.ValidationSplit, request.Validation is not null) is { } splitError)
            Error(EvaluationDataRules.SplitField, splitError);

        var hyperparameters = request.Hyperparameters.DeepClone().AsObject();
        var mlmProbability = TakeNumber(hyperparameters, "mlm_probability", 0.15, !causal, p => p is > 0 and < 1, "between 0 and 1 (exclusive)", Error);
        var shortSeqProb = TakeNumber(hyperparameters, "short_seq_prob", 0.1, request.Task == "mlm_nsp", p => p is >= 0 and <= 1, "between 0 and 1", Error);
        var wholeWordMask = false;
        if (hyperparameters.Remove("whole_word_mask", out var wwm) && wwm is not null)
        {
            if (causal)
                Error("hyperparameters.whole_word_mask", "Applies to mlm and mlm_nsp only.");
            else if (wwm.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                wholeWordMask = wwm.GetValue<bool>();
            else
                Error("hyperparameters.whole_word_mask", "Must be true or false.");
        }

        ModelConfig? shape = null;
        TokenizerSettings? tokenizer = null;
        var architectures = Tasks.Contains(request.Task) ? Architectures(request.Task) : [];
        if (request.BaseModelDir is { } baseDir)
        {
            if (request.ModelShape is not null)
                Error("model", "Give base_model_id (continued pretraining) or model (a shape to pretrain from scratch), not both.");
            if (request.TokenizerSpec is not null)
                Error("tokenizer", "Continued pretraining keeps the base model's tokenizer.");
            try
            {
                var config = ModelConfig.Load(Path.Combine(baseDir, "config.json"));
                if (!architectures.Contains(config.ModelType) && Tasks.Contains(request.Task))
                    Error("base_model_id", $"Task {request.Task} pretrains a {string.Join(", ", architectures)} model; this one is {config.ModelType}.");
                foreach (var (field, message) in request.ModelBudget.Check(config))
                    Error("base_model_id", $"config.json {field}: {message}.");
            }
            catch (InvalidCheckpointException e)
            {
                Error("base_model_id", e.Message);
            }
        }
        else if (request.ModelShape is null)
        {
            Error("model", "Give base_model_id (continued pretraining) or model (a shape to pretrain from scratch).");
        }
        else
        {
            tokenizer = TokenizerSettings.Parse(request.TokenizerSpec, causal, Error);
            shape = ModelShapeSpec.Parse(request.ModelShape, architectures, tokenizer?.VocabSize ?? 30522, Error);
            foreach (var (field, message) in shape is null ? new Dictionary<string, string>() : request.ModelBudget.Check(shape))
                Error(field switch { "vocab_size" => "tokenizer.vocab_size", "parameters" => "model", _ => $"model.{field}" }, message + ".");
            var positions = shape?.MaxPositions ?? int.MaxValue;
            if (hyperparameters["max_seq_length"] is JsonValue length && length.TryGetValue(out int maxSeqLength) && maxSeqLength > positions)
                Error("hyperparameters.max_seq_length", $"The model has {positions} positions; max_seq_length may not exceed them.");
        }

        return errors.Count > before ? null
            : new PretrainingSpec(request.Task, mlmProbability, wholeWordMask, shortSeqProb, shape, tokenizer, hyperparameters);
    }

    static double TakeNumber(JsonObject hyperparameters, string name, double fallback, bool applies, Func<double, bool> valid,
        string range, Action<string, string> error)
    {
        if (!hyperparameters.Remove(name, out var node) || node is null)
            return fallback;
        if (!applies)
            error($"hyperparameters.{name}", name == "short_seq_prob" ? "Applies to mlm_nsp only." : "Applies to mlm and mlm_nsp only.");
        else if (node.GetValueKind() != JsonValueKind.Number || !valid(node.GetValue<double>()))
            error($"hyperparameters.{name}", $"Must be a number {range}.");
        else
            return node.GetValue<double>();
        return fallback;
    }
}
