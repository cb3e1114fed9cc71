using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Jobs;

/// <summary>The rules a <see cref="TaskCatalogue"/> entry declares, checked one way for every job type: the hyperparameters
/// only some tasks take, the evaluation data an eval strategy needs, and the metric that picks the best model.</summary>
public static class TaskRules
{
    /// <summary>The hyperparameters a <see cref="TrainingArguments"/> reads: those of <paramref name="hyperparameters"/> that
    /// are not a task's own objective settings (mlm_probability, …), which the task's job reads itself.</summary>
    public static JsonObject TrainerHyperparameters(JsonObject hyperparameters)
    {
        var trainer = hyperparameters.DeepClone().AsObject();
        foreach (var name in TaskCatalogue.TaskHyperparameters.Except(TrainingArguments.Names)) trainer.Remove(name);
        return trainer;
    }

    /// <summary>Reports under <c>hyperparameters.&lt;name&gt;</c> each of another task's own hyperparameters that
    /// <paramref name="task"/> was given switched on (a null or false one means the same as none).</summary>
    public static void CheckHyperparameters(TrainingTask task, JsonObject hyperparameters, Action<string, string> error)
    {
        foreach (var (name, value) in hyperparameters)
        {
            if (value is not null && value.GetValueKind() != JsonValueKind.False && TaskCatalogue.HyperparameterRefusal(task, name) is { } refusal)
                error($"hyperparameters.{name}", refusal + ".");
        }
    }

    /// <summary>Evaluating needs evaluation data, and the best model is picked by a metric the task reports.</summary>
    public static void CheckEvaluation(TrainingTask task, TrainingJobRequest request, TrainingArguments args, Action<string, string> error)
    {
        if (EvaluationDataRules.EvalStrategyError(args.EvalStrategy, request.Validation is not null, request.ValidationSplit) is { } evalError)
            error("hyperparameters.eval_strategy", evalError);
        if (args.MetricForBestModel is { } metric && !task.Metrics.Contains(args.BestMetricKey))
        {
            error("hyperparameters.metric_for_best_model",
                $"'{metric}' is not a metric of this task; use one of {string.Join(", ", task.Metrics.Select(m => m["eval_".Length..]))}.");
        }
    }
}
