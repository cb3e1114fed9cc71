using FineTuneService.Training;

namespace FineTuneService.Platform.Scheduling;

/// <summary>The job spec's name (<c>POST /jobs</c>, DESIGN.md "Job spec") for each part of a job the training core
/// reports a problem with: where the core has the training data and the base model, the spec has their ids.</summary>
public static class JobSpecFields
{
    public static string Name(JobField field) => field.Part switch
    {
        JobPart.Type => "type",
        JobPart.Task => "task",
        JobPart.Device => "device",
        JobPart.Train => "train_dataset_id",
        JobPart.Validation => "validation_dataset_id",
        JobPart.ValidationSplit => "validation_split",
        JobPart.BaseModel => "base_model_id",
        JobPart.Columns => $"columns.{field.Name}",
        JobPart.Hyperparameters => $"hyperparameters.{field.Name}",
        JobPart.ModelShape => field.Name is null ? "model" : $"model.{field.Name}",
        JobPart.Tokenizer => field.Name is null ? "tokenizer" : $"tokenizer.{field.Name}",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "a job part without a spec field"),
    };
}
