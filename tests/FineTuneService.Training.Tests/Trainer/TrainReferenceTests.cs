using System.Text.Json;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Trainer;

using Trainer = FineTuneService.Training.Trainer.Trainer;

/// <summary>llm.c's test_gpt2 for our training path: Hugging Face's BertForSequenceClassification on a fixed batch
/// with dropout 0 (hf-tiny-random/bert/train_reference.json) — the loss, every parameter's gradient, and the
/// losses of 5 AdamW steps taken by our Trainer, against what transformers and torch.optim.AdamW computed.</summary>
[Collection(nameof(RunsAlone))]
public class TrainReferenceTests(ITestOutputHelper output)
{
    static readonly string Dir = Fixtures.TinyRandom("bert");

    sealed record Reference(long[][] InputIds, long[] Labels, double Loss, Dictionary<string, double> GradNorms,
        double LearningRate, double[] Betas, double Eps, double WeightDecay, int Steps, double[] Losses);

    static Reference Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "train_reference.json")));
        var r = doc.RootElement;
        var batch = r.GetProperty("batch");
        Assert.All(batch.GetProperty("attention_mask").EnumerateArray().SelectMany(row => row.EnumerateArray()), m => Assert.Equal(1, m.GetInt32()));
        var adam = r.GetProperty("adamw");
        return new Reference(
            batch.GetProperty("input_ids").EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray(),
            batch.GetProperty("labels").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
            r.GetProperty("loss").GetDouble(),
            r.GetProperty("grad_norm_l2").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()),
            adam.GetProperty("lr").GetDouble(),
            adam.GetProperty("betas").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
            adam.GetProperty("eps").GetDouble(),
            adam.GetProperty("weight_decay").GetDouble(),
            adam.GetProperty("steps").GetInt32(),
            adam.GetProperty("losses_before_each_step_and_final").EnumerateArray().Select(x => x.GetDouble()).ToArray());
    }

    /// <summary>The fixture's model with the reference's config overrides (every dropout 0).</summary>
    static BertForSequenceClassification Model() => (BertForSequenceClassification)ModelFolder.Load(Dir, configure: c =>
        ((BertConfig)c) with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, ClassifierDropout = 0 });

    static FineTuneDataset Data(Reference r) => FineTuneDataset.OpenOrCreate(Path.Combine(TinyData.TempDir(), "train.bin"),
        () => r.InputIds.Select((ids, i) => new FineTuneExample(ids.Select(x => (int)x).ToArray(), new int[ids.Length], ClassId: r.Labels[i])),
        LabelKind.SingleLabel, padId: 0);

    [Fact]
    public void LossAndEveryGradientMatchHuggingFace()
    {
        var r = Load();
        using var model = Model();
        model.train();
        using var batch = Data(r).Collate([0, 1]);
        var loss = model.Forward(batch).Loss!;
        loss.backward();
        Assert.Equal(r.Loss, loss.item<float>(), 1e-5);

        var expected = SafeTensors.Load(Path.Combine(Dir, "train_grads.safetensors"));
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(r.GradNorms.Keys.Order(), parameters.Keys.Order());
        double worstNorm = 0, worstGrad = 0;
        foreach (var (name, norm) in r.GradNorms)
        {
            var grad = parameters[name].grad ?? throw new InvalidOperationException($"{name} has no gradient");
            var relative = Math.Abs(grad.norm().item<float>() - norm) / Math.Max(norm, 1e-6);
            var diff = (grad - expected[name]).abs().max().item<float>();
            // Norms of ~1e-8 (the key biases, whose gradient is zero up to rounding) are compared by the absolute diff alone.
            Assert.True(diff < 1e-5 && (norm < 1e-6 || relative < 1e-4), $"{name}: gradient norm {grad.norm().item<float>()} vs {norm}, max |diff| {diff:E2}");
            worstNorm = Math.Max(worstNorm, norm < 1e-6 ? 0 : relative);
            worstGrad = Math.Max(worstGrad, diff);
        }
        output.WriteLine($"loss {loss.item<float>()} vs {r.Loss}; worst relative gradient-norm diff {worstNorm:E2}, worst gradient diff {worstGrad:E2}");
    }

    [Fact]
    public void FiveAdamWStepsOfTheTrainerMatchTorch()
    {
        var r = Load();
        var args = TrainerTests.Args($$"""
            {"max_steps": {{r.Steps}}, "learning_rate": {{r.LearningRate}}, "adam_beta1": {{r.Betas[0]}}, "adam_beta2": {{r.Betas[1]}},
             "adam_epsilon": {{r.Eps}}, "weight_decay": {{r.WeightDecay}}, "lr_scheduler_type": "constant", "max_grad_norm": 0,
             "per_device_train_batch_size": 2, "per_device_eval_batch_size": 2, "group_by_length": false,
             "logging_steps": 1, "save_strategy": "no"}
            """);
        using var model = Model();
        var data = Data(r);
        var observer = new RecordingObserver();
        var result = new Trainer(model, args, data, data, ["LABEL_0", "LABEL_1", "LABEL_2"], TinyData.TempDir(), observer).Train(CancellationToken.None);
        // The loss logged at step s is the loss before update s; the evaluation after the last update is the final loss.
        var actual = observer.Losses.Select(l => l.Loss).Append(result.Metrics["eval_loss"]).ToArray();
        output.WriteLine("ours:      " + string.Join(", ", actual.Select(l => l.ToString("F7"))));
        output.WriteLine("reference: " + string.Join(", ", r.Losses.Select(l => l.ToString("F7"))));
        Assert.Equal(r.Losses.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++) Assert.True(Math.Abs(actual[i] - r.Losses[i]) < 1e-5, $"loss {i}: {actual[i]} vs {r.Losses[i]}");
    }
}
