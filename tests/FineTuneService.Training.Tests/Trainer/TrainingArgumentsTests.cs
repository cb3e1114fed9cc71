using System.Text.Json.Nodes;
using FineTuneService.Training;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Trainer;

public class TrainingArgumentsTests
{
    static TrainingArguments Parse(string json, out Dictionary<JobField, string[]> errors) =>
        TrainingArguments.Parse(JsonNode.Parse(json)!.AsObject(), out errors);

    [Fact]
    public void DefaultsAreHuggingFaces()
    {
        var args = Parse("{}", out var errors);
        Assert.Empty(errors);
        var json = args.ToJson();
        Assert.Equal(3.0, (double)json["num_train_epochs"]!);
        Assert.Equal(-1, (int)json["max_steps"]!);
        Assert.Equal(5e-5, (double)json["learning_rate"]!);
        Assert.Equal(8, (int)json["per_device_train_batch_size"]!);
        Assert.Equal(0.9, (double)json["adam_beta1"]!);
        Assert.Equal(0.999, (double)json["adam_beta2"]!);
        Assert.Equal(1e-8, (double)json["adam_epsilon"]!);
        Assert.Equal("linear", (string)json["lr_scheduler_type"]!);
        Assert.Equal(1.0, (double)json["max_grad_norm"]!);
        Assert.Equal("no", (string)json["eval_strategy"]!);
        Assert.Equal("steps", (string)json["save_strategy"]!);
        Assert.Equal(500, (int)json["save_steps"]!);
        Assert.Equal(42, (int)json["seed"]!);
        Assert.Equal(128, (int)json["max_seq_length"]!);
        Assert.True((bool)json["group_by_length"]!);
        Assert.Equal(TrainingArguments.Names.Order(), json.Select(kv => kv.Key).Order());
    }

    [Fact]
    public void ResolvesDerivedDefaultsAndRoundTrips()
    {
        var args = Parse("""{"eval_strategy": "steps", "logging_steps": 25, "save_strategy": "steps", "save_steps": 50, "load_best_model_at_end": true, "lr_scheduler_type": "cosine_with_warmup"}""", out var errors);
        Assert.Empty(errors);
        Assert.Equal(25, args.EvalSteps);
        Assert.Equal("loss", args.MetricForBestModel);
        Assert.False(args.GreaterIsBetter);
        Assert.Equal("cosine", args.LrSchedulerType);
        Assert.Equal("eval_loss", args.BestMetricKey);
        var again = TrainingArguments.Parse(args.ToJson(), out errors);
        Assert.Empty(errors);
        Assert.Equal(args.ToJson().ToJsonString(), again.ToJson().ToJsonString());
        Assert.True(Parse("""{"eval_strategy": "epoch", "save_strategy": "epoch", "load_best_model_at_end": true, "metric_for_best_model": "f1"}""", out _).GreaterIsBetter);
    }

    [Theory]
    [InlineData("""{"learning_rte": 1e-5}""", "learning_rte", "not a known hyperparameter")]
    [InlineData("""{"learning_rate": "fast"}""", "learning_rate", "must be a number")]
    [InlineData("""{"learning_rate": -1}""", "learning_rate", "(0, 1]")]
    [InlineData("""{"per_device_train_batch_size": 2.5}""", "per_device_train_batch_size", "must be an integer")]
    [InlineData("""{"per_device_train_batch_size": 0}""", "per_device_train_batch_size", "[1, 4096]")]
    [InlineData("""{"seed": null}""", "seed", "must not be null")]
    [InlineData("""{"freeze_embeddings": "yes"}""", "freeze_embeddings", "true or false")]
    [InlineData("""{"lr_scheduler_type": "exponential"}""", "lr_scheduler_type", "must be one of")]
    [InlineData("""{"eval_strategy": "sometimes"}""", "eval_strategy", "no, steps, epoch")]
    [InlineData("""{"class_weights": [1, -2]}""", "class_weights", "positive")]
    [InlineData("""{"class_weights": "1,2"}""", "class_weights", "array of numbers")]
    [InlineData("""{"load_best_model_at_end": true}""", "load_best_model_at_end", "needs eval_strategy")]
    [InlineData("""{"eval_strategy": "epoch", "load_best_model_at_end": true}""", "save_strategy", "must match eval_strategy")]
    [InlineData("""{"eval_strategy": "steps", "eval_steps": 30, "save_steps": 50, "load_best_model_at_end": true}""", "save_steps", "multiple of eval_steps")]
    [InlineData("""{"max_steps": 0}""", "max_steps", "-1")]
    public void RejectsBadValuesNamingTheField(string json, string name, string message)
    {
        Parse(json, out var errors);
        var key = JobField.Hyperparameter(name);
        Assert.Contains(key, errors.Keys);
        Assert.Contains(errors[key], m => m.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void ReportsEveryBadFieldAtOnce()
    {
        Parse("""{"foo": 1, "learning_rate": "x", "seed": true}""", out var errors);
        Assert.Equal([JobField.Hyperparameter("foo"), JobField.Hyperparameter("learning_rate"), JobField.Hyperparameter("seed")], errors.Keys.Order());
    }
}
