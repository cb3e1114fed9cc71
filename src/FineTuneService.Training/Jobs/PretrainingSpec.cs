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
    /// <summary>The catalogue's entry for the task.</summary>
    public TrainingTask Entry => TaskCatalogue.Find(TaskCatalogue.Pretrain.Name, Task)!;

    public bool IsCausal => Entry.Head == ModelTask.CausalLM;

    /// <summary>The objective's hyperparameters this task takes, with their values (they go into training_args.json).</summary>
    public IEnumerable<(string Name, JsonNode Value)> Objective() =>
        new (string Name, JsonNode Value)[] { ("mlm_probability", MlmProbability), ("whole_word_mask", WholeWordMask), ("short_seq_prob", ShortSeqProb) }
            .Where(x => Entry.Hyperparameters.Contains(x.Name));

    /// <summary>Parses and checks the pretraining parts of <paramref name="request"/>; problems go to
    /// <paramref name="errors"/> under the part of the job they concern (a model-shape or tokenizer setting, an objective
    /// hyperparameter, …). Returns null when there are any.</summary>
    public static PretrainingSpec? Parse(TrainingJobRequest request, Dictionary<JobField, string[]> errors)
    {
        void Error(JobField key, string message) => errors.Append(key, message);
        var before = errors.Count;

        var refusal = TaskCatalogue.Refusal(TaskCatalogue.Pretrain.Name, request.Task);
        if (refusal is { } r)
            Error(r.Field, r.Message + ".");
        var task = TaskCatalogue.Find(TaskCatalogue.Pretrain.Name, request.Task);
        if (task is not null)
            TaskRules.CheckHyperparameters(task, request.Hyperparameters, Error);
        if (!CorpusReader.Formats.Contains(request.Train.Format))
            Error(JobField.Train, $"a pretraining corpus is {string.Join(" or ", CorpusReader.Formats)}, not {request.Train.Format}.");
        if (request.Validation is { } validation && !CorpusReader.Formats.Contains(validation.Format))
            Error(JobField.Validation, $"a pretraining corpus is {string.Join(" or ", CorpusReader.Formats)}, not {validation.Format}.");
        if (EvaluationDataRules.SplitError(request.ValidationSplit, request.Validation is not null) is { } splitError)
            Error(JobField.ValidationSplit, splitError);

        var hyperparameters = request.Hyperparameters;
        var mlmProbability = TakeNumber(hyperparameters, "mlm_probability", 0.15, p => p is > 0 and < 1, "between 0 and 1 (exclusive)", Error);
        var shortSeqProb = TakeNumber(hyperparameters, "short_seq_prob", 0.1, p => p is >= 0 and <= 1, "between 0 and 1", Error);
        var wholeWordMask = false;
        if (hyperparameters["whole_word_mask"] is { } wwm)
        {
            if (wwm.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                wholeWordMask = wwm.GetValue<bool>();
            else
                Error(JobField.Hyperparameter("whole_word_mask"), "must be true or false.");
        }

        ModelConfig? shape = null;
        TokenizerSettings? tokenizer = null;
        var architectures = task is null ? [] : TaskCatalogue.Families(task);
        if (request.BaseModelDir is { } baseDir)
        {
            if (request.ModelShape is not null)
                Error(JobField.ModelShape, "give a base model (continued pretraining) or a model shape (pretraining from scratch), not both.");
            if (request.TokenizerSpec is not null)
                Error(JobField.Tokenizer, "continued pretraining keeps the base model's tokenizer.");
            try
            {
                var config = ModelConfig.Load(Path.Combine(baseDir, "config.json"));
                if (!architectures.Contains(config.ModelType) && task is not null)
                    Error(JobField.BaseModel, $"task {request.Task} pretrains a {string.Join(", ", architectures)} model; this one is {config.ModelType}.");
                foreach (var (field, message) in request.ModelBudget.Check(config))
                    Error(JobField.BaseModel, $"config.json {field}: {message}.");
            }
            catch (InvalidCheckpointException e)
            {
                Error(JobField.BaseModel, e.Message);
            }
        }
        else if (request.ModelShape is null)
        {
            Error(JobField.ModelShape, "give a base model (continued pretraining) or a model shape (pretraining from scratch).");
        }
        else
        {
            tokenizer = TokenizerSettings.Parse(request.TokenizerSpec, task?.Head == ModelTask.CausalLM, Error);
            shape = ModelShapeSpec.Parse(request.ModelShape, architectures, tokenizer?.VocabSize ?? 30522, Error);
            foreach (var (field, message) in shape is null ? new Dictionary<string, string>() : request.ModelBudget.Check(shape))
                Error(field switch { "vocab_size" => JobField.TokenizerSetting("vocab_size"), "parameters" => JobField.ModelShape, _ => JobField.Shape(field) }, message + ".");
            var positions = shape?.MaxPositions ?? int.MaxValue;
            if (hyperparameters["max_seq_length"] is JsonValue length && length.TryGetValue(out int maxSeqLength) && maxSeqLength > positions)
                Error(JobField.Hyperparameter("max_seq_length"), $"the model has {positions} positions; max_seq_length may not exceed them.");
        }

        return errors.Count > before ? null
            : new PretrainingSpec(request.Task, mlmProbability, wholeWordMask, shortSeqProb, shape, tokenizer, TaskRules.TrainerHyperparameters(hyperparameters));
    }

    static double TakeNumber(JsonObject hyperparameters, string name, double fallback, Func<double, bool> valid, string range,
        Action<JobField, string> error)
    {
        if (hyperparameters[name] is not { } node)
            return fallback;
        if (node.GetValueKind() != JsonValueKind.Number || !valid(node.GetValue<double>()))
            error(JobField.Hyperparameter(name), $"must be a number {range}.");
        else
            return node.GetValue<double>();
        return fallback;
    }
}
