using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The body of <c>POST /jobs</c> (DESIGN.md "Job spec"); stored with its hyperparameters resolved.
/// <see cref="KeepCheckpoints"/>: the job's checkpoints stay after it ends (its work folder goes otherwise).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record JobSpec(
    string? Type,
    string? Task,
    string? Name = null,
    Guid? BaseModelId = null,
    Guid? TrainDatasetId = null,
    Guid? ValidationDatasetId = null,
    double? ValidationSplit = null,
    ColumnSpec? Columns = null,
    JsonObject? Hyperparameters = null,
    JsonObject? Model = null,
    JsonObject? Tokenizer = null,
    string? Device = null,
    IReadOnlyList<Webhook>? Webhooks = null,
    bool? KeepCheckpoints = null)
{
    /// <summary>Reads a body: a syntax error is the body's, a type error or unknown name is its field's.</summary>
    public static JobSpec Parse(string body)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(body); }
        catch (JsonException e)
        {
            throw new RequestValidationException("body", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (node is not JsonObject) throw new RequestValidationException("body", "send a JSON object");
        try { return node.Deserialize<JobSpec>(PlatformJson.Options)!; }
        catch (JsonException e)
        {
            var field = e.Path is null or "$" ? "body" : e.Path.TrimStart('$', '.');
            throw new RequestValidationException(field,
                e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "unknown field" : "wrong type or malformed value");
        }
    }

    /// <summary>The spec with the service's defaults where it sets none: <c>save_total_limit</c>.</summary>
    public JobSpec WithDefaults(JobOptions limits)
    {
        if (Hyperparameters?.ContainsKey("save_total_limit") == true) return this;
        var hyperparameters = Hyperparameters?.DeepClone().AsObject() ?? [];
        hyperparameters["save_total_limit"] = limits.DefaultSaveTotalLimit;
        return this with { Hyperparameters = hyperparameters };
    }

    /// <summary>The spec's <c>columns</c>, with the core's defaults where it names none (<c>text</c>; <c>label</c>).</summary>
    ColumnMap ColumnMap => Columns is { } c ? new ColumnMap(c.Text ?? "text", c.TextPair, c.Label) : new ColumnMap();

    public string ToJson() => JsonSerializer.Serialize(this, PlatformJson.Options);

    public static JobSpec FromJson(string json) => JsonSerializer.Deserialize<JobSpec>(json, PlatformJson.Options)!;

    /// <summary>Checks the spec against the database and the training core. Returns the hyperparameters in effect
    /// (Hugging Face defaults filled in); throws <see cref="RequestValidationException"/> with every error.</summary>
    public async Task<JsonObject> ValidateAsync(AppDbContext db, ArtifactStore store, ModelBudget budget, JobOptions limits, WebhookOptions webhooks,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, List<string>>();
        void Error(string field, string message) => (errors.TryGetValue(field, out var list) ? list : errors[field] = []).Add(message);

        if (TaskCatalogue.Refusal(Type, Task) is { } refusal) Error(refusal.Field, refusal.Message);
        var task = TaskCatalogue.Find(Type, Task);

        var train = TrainDatasetId is { } trainId ? await db.Datasets.FindAsync([trainId], cancellationToken) : null;
        if (TrainDatasetId is null) Error("train_dataset_id", "required");
        else if (train is null) Error("train_dataset_id", $"no dataset with id {TrainDatasetId}");
        var validation = ValidationDatasetId is { } validationId ? await db.Datasets.FindAsync([validationId], cancellationToken) : null;
        if (ValidationDatasetId is not null && validation is null) Error("validation_dataset_id", $"no dataset with id {ValidationDatasetId}");
        if (EvaluationDataRules.SplitError(ValidationSplit, ValidationDatasetId is not null) is { } splitError) Error(EvaluationDataRules.SplitField, splitError);
        Webhook.Validate(Webhooks, webhooks, Error);
        // A split never leaves a side empty: each needs a row (fine-tune) or a document (pretrain) of the upload.
        var splitUnits = task?.Job == TaskCatalogue.Pretrain ? train?.NumDocuments : train?.NumRows;
        if (ValidationSplit is not null && task is not null && splitUnits < 2)
            Error("validation_split", $"needs at least 2 {task.Job.SplitUnit} in the training dataset to hold some out; it has {splitUnits}");

        var baseModel = BaseModelId is { } modelId ? await db.Models.FindAsync([modelId], cancellationToken) : null;
        if (BaseModelId is not null && baseModel is null) Error("base_model_id", $"no model with id {BaseModelId}");
        if (baseModel is { Status: not ModelStatus.Ready }) Error("base_model_id", $"model {BaseModelId} is {baseModel.Status.ToString().ToLowerInvariant()}, not ready");
        if (task?.Job == TaskCatalogue.FineTune && BaseModelId is null) Error("base_model_id", "required for finetune");
        if (task?.Job == TaskCatalogue.Pretrain && BaseModelId is null && Model is null) Error("model", "required for pretrain without base_model_id");

        foreach (var (dataset, field) in new[] { (train, "train_dataset_id"), (validation, "validation_dataset_id") })
        {
            if (dataset is null || task is null) continue;
            foreach (var (role, column) in ColumnMap.Named(task))
            {
                if (!dataset.Columns.Contains(column))
                    Error($"columns.{role}", $"'{column}' is not a column of dataset {dataset.Id} ({field}); it has {string.Join(", ", dataset.Columns)}");
            }
        }

        // A task's objective hyperparameters (mlm_probability, …) are not TrainingArguments; the core checks them.
        var arguments = TrainingArguments.Parse(TaskRules.TrainerHyperparameters(Hyperparameters ?? []), out var hyperparameterErrors);
        foreach (var (field, messages) in hyperparameterErrors) foreach (var message in messages) Error(field, message);
        if (hyperparameterErrors.Count == 0) CheckLimits(arguments, train, limits, Error);
        if (errors.Count == 0 && train is not null)
        {
            var request = ToRequest(Guid.Empty, train, validation, baseModel, store, workerDevice: "cpu", budget);
            foreach (var (field, messages) in TrainingJobRunner.Validate(request)) foreach (var message in messages) Error(field, message);
        }
        if (errors.Count > 0) throw new RequestValidationException(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));

        var resolved = arguments.ToJson();
        foreach (var (name, value) in Hyperparameters ?? []) if (!resolved.ContainsKey(name)) resolved[name] = value?.DeepClone();
        return resolved;
    }

    static DataFile DataFileOf(Dataset dataset, ArtifactStore store) =>
        new(store.FullPath(dataset.Path), dataset.Format, new TabularSummary(dataset.Columns, dataset.NumRows,
            dataset.ColumnValues?.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value)));

    /// <summary>Epochs, steps (its max_steps, or its epochs over the rows the upload recorded) and the checkpoint interval
    /// within the service's limits (<c>Jobs:*</c>).</summary>
    void CheckLimits(TrainingArguments arguments, Dataset? train, JobOptions limits, Action<string, string> error)
    {
        if (arguments.MaxSteps > limits.MaxSteps)
            error("hyperparameters.max_steps", $"at most {limits.MaxSteps} (Jobs:MaxSteps)");
        if (arguments.MaxSteps <= 0 && arguments.NumTrainEpochs > limits.MaxEpochs)
        {
            error("hyperparameters.num_train_epochs", $"at most {limits.MaxEpochs} (Jobs:MaxEpochs)");
        }
        else if (arguments.MaxSteps <= 0 && train is not null && Type == TaskCatalogue.FineTune.Name)
        {
            var rows = train.NumRows * (1 - (ValidationSplit ?? 0));
            var steps = Math.Ceiling(Math.Ceiling(rows / arguments.PerDeviceTrainBatchSize) / arguments.GradientAccumulationSteps) * arguments.NumTrainEpochs;
            if (steps > limits.MaxSteps)
                error("hyperparameters.num_train_epochs", $"{arguments.NumTrainEpochs} epochs of {train.NumRows} rows are {steps:0} steps, more than {limits.MaxSteps} (Jobs:MaxSteps)");
        }
        if (arguments.SaveStrategy == "steps" && arguments.SaveSteps < limits.MinSaveSteps)
            error("hyperparameters.save_steps", $"at least {limits.MinSaveSteps} (Jobs:MinSaveSteps): each checkpoint writes the weights and the optimizer state");
    }

    /// <summary>What the training core needs, with absolute paths on this host's volume and the model budget. The job trains on the spec's
    /// <c>device</c>, or on the worker's when the spec gives none or <c>auto</c>.</summary>
    public TrainingJobRequest ToRequest(Guid jobId, Dataset train, Dataset? validation, Model? baseModel, ArtifactStore store, string workerDevice,
        ModelBudget budget)
    {
        var work = store.FullPath(ArtifactStore.JobFolder(jobId));
        return new TrainingJobRequest(
            jobId.ToString(), Type!, Task!,
            DataFileOf(train, store), validation is null ? null : DataFileOf(validation, store),
            ValidationSplit,
            ColumnMap.For(TaskCatalogue.Find(Type, Task)!),
            Hyperparameters ?? [],
            baseModel is null ? null : store.FullPath(baseModel.Path),
            Model, Tokenizer,
            work, Path.Combine(work, "output"), Device is null or "auto" ? workerDevice : Device, budget);
    }
}
