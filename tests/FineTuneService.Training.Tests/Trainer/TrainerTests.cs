using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Tests.Trainer;

using Trainer = FineTuneService.Training.Trainer.Trainer;

/// <summary>Runs alone: dropout draws from torch's process-wide generator, which parallel test classes would share.</summary>
[Collection(nameof(RunsAlone))]
public class TrainerTests
{
    internal static TrainingArguments Args(string json)
    {
        var args = TrainingArguments.Parse(System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject(), out var errors);
        Assert.Empty(errors);
        return args;
    }

    internal static (TrainerResult Result, RecordingObserver Observer, BertForSequenceClassification Model) Run(TrainingArguments args, string dir,
        RecordingObserver? observer = null, CancellationToken ct = default)
    {
        Trainer.SetSeed(args.Seed); // as HF's set_seed before model init
        var model = TinyBert.Classifier(args.Seed);
        observer ??= new RecordingObserver();
        var trainer = new FineTuneService.Training.Trainer.Trainer(model, args, TinyData.Separable(96, 1), TinyData.Separable(32, 2),
            ["neg", "pos"], Path.Combine(dir, "checkpoints"), observer);
        return (trainer.Train(ct), observer, model);
    }

    [Fact]
    public void LearnsASeparableTask()
    {
        var (result, observer, _) = Run(Args("""{"num_train_epochs": 4, "learning_rate": 2e-2, "per_device_train_batch_size": 8, "eval_strategy": "epoch", "save_strategy": "no", "logging_steps": 4}"""), TinyData.TempDir());
        Assert.True(result.Metrics["eval_accuracy"] > 0.9, $"accuracy {result.Metrics["eval_accuracy"]}");
        Assert.Equal(4 * 12, result.GlobalStep);
        Assert.Equal(4, observer.Evals.Count());
        var losses = observer.Losses.Select(l => l.Loss).ToArray();
        Assert.True(losses[^1] < losses[0] / 2, string.Join(", ", losses));
        var first = observer.Points.First(p => p.Split == "train").Values;
        foreach (var name in new[] { "loss", "learning_rate", "epoch", "train_samples_per_second", "train_tokens_per_second", "grad_norm" })
            Assert.Contains(name, first.Keys);
        foreach (var name in new[] { "eval_loss", "eval_accuracy", "eval_f1", "eval_precision", "eval_recall", "eval_mcc" })
            Assert.Contains(name, result.Metrics.Keys);
    }

    [Fact]
    public void SameSeedGivesIdenticalMetrics()
    {
        var args = Args("""{"num_train_epochs": 2, "learning_rate": 1e-3, "eval_strategy": "epoch", "save_strategy": "no", "logging_steps": 1}""");
        var (a, oa, _) = Run(args, TinyData.TempDir());
        var (b, ob, _) = Run(args, TinyData.TempDir());
        Assert.Equal(oa.Losses, ob.Losses);
        Assert.Equal(a.Metrics["eval_loss"], b.Metrics["eval_loss"]);
        var (c, oc, _) = Run(args with { Seed = 7 }, TinyData.TempDir());
        Assert.NotEqual(oa.Losses.Select(l => l.Loss), oc.Losses.Select(l => l.Loss));
    }

    [Fact]
    public void ResumedRunRepeatsTheUninterruptedLosses()
    {
        var args = Args("""{"num_train_epochs": 3, "learning_rate": 1e-3, "warmup_steps": 5, "weight_decay": 0.01, "gradient_accumulation_steps": 2, "logging_steps": 1, "save_steps": 4, "eval_strategy": "no"}""");
        var (full, fullObserver, _) = Run(args, TinyData.TempDir());

        var dir = TinyData.TempDir();
        using var cancel = new CancellationTokenSource();
        var interrupted = new RecordingObserver(cancel, cancelAtStep: 10);
        Assert.Throws<OperationCanceledException>(() => Run(args, dir, interrupted, cancel.Token));
        Assert.Equal([4, 8], interrupted.Checkpoints.Select(c => c.Step));

        var (resumed, resumedObserver, _) = Run(args, dir);
        Assert.Contains(resumedObserver.Events, e => e.Contains("checkpoint-8"));
        var expected = fullObserver.Losses.Where(l => l.Step > 8).ToArray();
        var actual = resumedObserver.Losses.ToArray();
        Assert.Equal(expected.Select(l => l.Step), actual.Select(l => l.Step));
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i].Loss, actual[i].Loss, 1e-6);
        Assert.Equal(full.GlobalStep, resumed.GlobalStep);
    }

    [Fact]
    public void EarlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement()
    {
        // A threshold no evaluation can beat: the first evaluation sets the best, the next two do not improve on it.
        var (result, observer, _) = Run(Args("""{"num_train_epochs": 10, "eval_strategy": "steps", "eval_steps": 2, "save_strategy": "no", "early_stopping_patience": 2, "early_stopping_threshold": 100}"""), TinyData.TempDir());
        Assert.Equal(6, result.GlobalStep);
        Assert.Equal(3, observer.Evals.Count());
        Assert.Contains(observer.Events, e => e.StartsWith("Early stopping at step 6"));
    }

    [Fact]
    public void LoadBestModelAtEndRestoresTheBestCheckpointAndRotationKeepsIt()
    {
        // greater_is_better on the loss makes the first (worst-trained) evaluation the best one.
        var dir = TinyData.TempDir();
        var (result, observer, model) = Run(Args("""{"num_train_epochs": 3, "learning_rate": 3e-3, "eval_strategy": "steps", "eval_steps": 6, "save_strategy": "steps", "save_steps": 6, "save_total_limit": 1, "load_best_model_at_end": true, "metric_for_best_model": "loss", "greater_is_better": true}"""), dir);
        var evals = observer.Evals.Select(e => e["eval_loss"]).ToArray();
        Assert.Equal(6, evals.Length);
        Assert.Equal("checkpoint-6", result.BestCheckpoint);
        Assert.Equal(evals.Max(), result.Metrics["eval_loss"]);
        Assert.Equal(["checkpoint-36", "checkpoint-6"], Directory.GetDirectories(Path.Combine(dir, "checkpoints")).Select(Path.GetFileName).Order());
        var bestState = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoints", "checkpoint-6", "trainer_state.json")))!;
        Assert.Equal("checkpoint-6", (string)bestState["best_checkpoint"]!);
        var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoints", "checkpoint-36", "trainer_state.json")))!;
        Assert.Equal(36, (int)state["global_step"]!);
        Assert.Equal("checkpoint-6", (string)state["best_checkpoint"]!);
        Assert.Equal(6, state["log_history"]!.AsArray().Count(e => e!["eval_loss"] is not null));
        var saved = FineTuneService.Training.Checkpoints.SafeTensors.Load(Path.Combine(dir, "checkpoints", "checkpoint-6", "model.safetensors"));
        foreach (var (name, tensor) in model.state_dict()) Assert.True(tensor.allclose(saved[name], rtol: 0, atol: 0), name);
    }

    [Fact]
    public void SaveTotalLimitKeepsTheNewest()
    {
        var dir = TinyData.TempDir();
        Run(Args("""{"num_train_epochs": 1, "save_steps": 2, "save_total_limit": 2}"""), dir);
        Assert.Equal(["checkpoint-10", "checkpoint-12"], Directory.GetDirectories(Path.Combine(dir, "checkpoints")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void GradientAccumulationMatchesOneBigBatch()
    {
        // Without dropout, two accumulated batches of 8 make the same update as one batch of 16 (same examples); a large
        // adam_epsilon and no clipping keep the update sensitive to the gradient's scale, i.e. to the loss averaging.
        Dictionary<string, TorchSharp.torch.Tensor> TrainOnce(string json)
        {
            var args = Args(json);
            Trainer.SetSeed(args.Seed);
            var model = new BertForSequenceClassification(TinyBert.Config() with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 });
            new Trainer(model, args, TinyData.Separable(32, 1), null, ["neg", "pos"], TinyData.TempDir(), new RecordingObserver()).Train(CancellationToken.None);
            return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()); // the module is collectable once we return
        }
        var accumulated = TrainOnce("""{"max_steps": 2, "learning_rate": 1e-2, "adam_epsilon": 1.0, "max_grad_norm": 0, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 2, "group_by_length": false, "save_strategy": "no", "weight_decay": 0.1}""");
        var big = TrainOnce("""{"max_steps": 2, "learning_rate": 1e-2, "adam_epsilon": 1.0, "max_grad_norm": 0, "per_device_train_batch_size": 16, "group_by_length": false, "save_strategy": "no", "weight_decay": 0.1}""");
        foreach (var (name, tensor) in big) Assert.True(tensor.allclose(accumulated[name], rtol: 1e-4, atol: 1e-6), name);
    }

    [Fact]
    public void FreezingKeepsEmbeddingsAndBottomLayersAsTheyWere()
    {
        Trainer.SetSeed(42);
        var before = TinyBert.Classifier().state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var (_, _, model) = Run(Args("""{"max_steps": 5, "learning_rate": 1e-2, "freeze_embeddings": true, "freeze_layers": 1, "save_strategy": "no"}"""), TinyData.TempDir());
        foreach (var (name, tensor) in model.state_dict())
        {
            var frozen = name.Contains("embeddings.") || name.Contains("encoder.layer.0.");
            Assert.True(frozen == tensor.allclose(before[name], rtol: 0, atol: 0), name);
        }
    }

    [Fact]
    public void ParameterGroupsFollowHuggingFace()
    {
        var (decay, noDecay) = Trainer.ParameterGroups(TinyBert.Classifier());
        var noDecayNames = noDecay.Select(p => p.Name).ToHashSet();
        Assert.Contains("bert.embeddings.LayerNorm.weight", noDecayNames);
        Assert.Contains("bert.encoder.layer.1.attention.output.LayerNorm.weight", noDecayNames);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.bias", noDecayNames);
        Assert.Contains("classifier.bias", noDecayNames);
        Assert.All(noDecayNames, n => Assert.True(n.EndsWith(".bias") || n.Contains("LayerNorm.weight"), n));
        // embeddings (3) + per layer: query, key, value, attention.output.dense, intermediate.dense, output.dense (6 × 2) + pooler + classifier
        Assert.Equal(17, decay.Length);
        Assert.All(decay, p => Assert.EndsWith(".weight", p.Name));
        Assert.DoesNotContain(decay, p => p.Name.Contains("LayerNorm"));
    }
}
