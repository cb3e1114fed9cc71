using System.Text.Json.Nodes;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Webhooks;

namespace FineTuneService.Platform.Scheduling;

public sealed record JobResponse(
    Guid Id, string? Name, string Type, string Task, JobStatus Status, JobProgress Progress,
    Guid? TrainDatasetId, Guid? ValidationDatasetId, double? ValidationSplit, Guid? BaseModelId, ColumnSpec? Columns,
    JsonObject? Hyperparameters, JsonObject? Model, JsonObject? Tokenizer,
    Guid? ResultModelId, string? Error, int Attempt, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt,
    IReadOnlyList<WebhookView> Webhooks)
{
    public static JobResponse From(Job job)
    {
        var spec = JobSpec.FromJson(job.Spec);
        return new(job.Id, spec.Name, job.Type, job.Task, job.Status, new JobProgress(job.Step, job.TotalSteps, job.Epoch),
            job.TrainDatasetId, job.ValidationDatasetId, spec.ValidationSplit, job.BaseModelId, spec.Columns ?? new ColumnSpec(),
            JsonNode.Parse(job.Hyperparameters)!.AsObject(), spec.Model, spec.Tokenizer,
            job.ResultModelId, job.Error, job.Attempt, job.CreatedAt, job.StartedAt, job.FinishedAt,
            [.. (spec.Webhooks ?? []).Select(w => new WebhookView(w.Url!, w.Subscribed))]);
    }
}
