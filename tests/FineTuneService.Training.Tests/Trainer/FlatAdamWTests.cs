using System.Text.Json;
using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Trainer;

using Trainer = FineTuneService.Training.Trainer.Trainer;

/// <summary>The flat fused optimizer against the loop it replaced — TorchSharp's per-tensor AdamW and libtorch's
/// clip_grad_norm_ over the same decay groups, schedule and batches — and its checkpoints, old and new.
/// Runs alone: dropout draws from torch's process-wide generator.</summary>
[Collection(nameof(RunsAlone))]
public class FlatAdamWTests(ITestOutputHelper output)
{
    const string Recipe = """{"learning_rate": 1e-3, "warmup_steps": 5, "weight_decay": 0.01, "per_device_train_batch_size": 8, "logging_steps": 1, "eval_strategy": "no"}""";

    static TrainingArguments Args(int maxSteps, string extra = "") =>
        TrainerTests.Args(Recipe.TrimEnd('}') + $", \"max_steps\": {maxSteps}" + extra + "}");

    /// <summary>The Trainer's loop as it was before the flat buffers: TorchSharp's AdamW, per tensor. Runs steps
    /// [from, to) and writes a checkpoint in the old layout (optimizer.bin) after step <paramref name="saveAt"/>.</summary>
    static List<double> TodaysLoop(TrainingArguments args, int to, string? checkpointsDir = null, int saveAt = -1)
    {
        Trainer.SetSeed(args.Seed);
        using var model = TinyBert.Classifier(args.Seed);
        var data = TinyData.Separable(96, 1);
        var (decay, noDecay) = Trainer.ParameterGroups(model);
        using var optimizer = optim.AdamW(
            [new AdamW.ParamGroup(decay.Select(p => p.Param), new AdamW.Options { weight_decay = args.WeightDecay }),
             new AdamW.ParamGroup(noDecay.Select(p => p.Param), new AdamW.Options { weight_decay = 0 })],
            lr: args.LearningRate, beta1: args.AdamBeta1, beta2: args.AdamBeta2, eps: args.AdamEpsilon);
        var trainable = decay.Concat(noDecay).Select(p => p.Param).ToArray();
        Trainer.SetSeed(args.Seed); // as the Trainer does when it starts afresh
        model.train();
        var losses = new List<double>();
        var steps = 0;
        for (var epoch = 0; steps < to; epoch++)
        {
            var batches = data.TrainBatches(args.PerDeviceTrainBatchSize, args.Seed, epoch, args.GroupByLength);
            for (var b = 0; b < batches.Length && steps < to; b++)
            {
                using (var scope = NewDisposeScope())
                {
                    var loss = model.Forward(data.Collate(batches[b])).Loss!;
                    loss.backward();
                    losses.Add(loss.item<float>());
                    nn.utils.clip_grad_norm_(trainable, args.MaxGradNorm);
                    foreach (var group in optimizer.ParamGroups)
                        group.LearningRate = args.LearningRate * LearningRateSchedule.Factor(args.LrSchedulerType, steps, args.WarmupSteps, args.MaxSteps);
                    optimizer.step();
                    optimizer.zero_grad();
                }
                steps++;
                if (steps == saveAt) SaveOldCheckpoint(checkpointsDir!, model, optimizer, steps, epoch, b + 1, batches.Length, losses);
            }
        }
        return losses;
    }

    static void SaveOldCheckpoint(string checkpointsDir, nn.Module model, OptimizerHelper optimizer, int step, int epoch, int next, int batches, List<double> losses)
    {
        var dir = Directory.CreateDirectory(Path.Combine(checkpointsDir, $"checkpoint-{step}")).FullName;
        FineTuneService.Training.Checkpoints.SafeTensors.Save(Path.Combine(dir, "model.safetensors"), model.state_dict());
        optimizer.save_state_dict(Path.Combine(dir, "optimizer.bin"));
        using (var rng = get_rng_state()) File.WriteAllBytes(Path.Combine(dir, "rng_state.bin"), rng.data<byte>().ToArray());
        var (e, b) = next == batches ? (epoch + 1, 0) : (epoch, next);
        File.WriteAllText(Path.Combine(dir, "trainer_state.json"), JsonSerializer.Serialize(new TrainerState
        {
            GlobalStep = step, Epoch = e, BatchInEpoch = b, TotalLoss = losses.Sum(), LossSum = 0, LossSteps = 0,
        }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
    }

    [Fact]
    public void HundredStepsGiveTheLossesOfTorchSharpsAdamW()
    {
        var args = Args(100);
        var expected = TodaysLoop(args, 100);
        var (_, observer, _) = TrainerTests.Run(args with { SaveStrategy = "no" }, TinyData.TempDir());
        var actual = observer.Losses.Select(l => l.Loss).ToArray();
        Assert.Equal(100, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"max |loss diff| over 100 steps: {worst:E2} (losses {expected[0]:F4} → {expected[^1]:F4})");
        Assert.True(worst < 1e-6, $"max |loss diff| over 100 steps {worst:E2}");
    }

    [Fact]
    public void ACheckpointOfTheOldOptimizerResumes()
    {
        var args = Args(30);
        var dir = TinyData.TempDir();
        var expected = TodaysLoop(args, 30, Path.Combine(dir, "checkpoints"), saveAt: 14);
        var (result, observer, _) = TrainerTests.Run(args with { SaveStrategy = "no" }, dir);
        Assert.Contains(observer.Events, e => e.Contains("checkpoint-14"));
        Assert.Equal(Enumerable.Range(15, 16), observer.Losses.Select(l => l.Step));
        var worst = expected.Skip(14).Zip(observer.Losses, (e, a) => Math.Abs(e - a.Loss)).Max();
        Assert.True(worst < 1e-6, $"max |loss diff| after resuming {worst:E2}");
        Assert.Equal(30, result.GlobalStep);
    }

    [Fact]
    public void ParametersAndGradientsAreViewsOfOneBufferPerGroupAndStayViews()
    {
        using var model = TinyBert.Classifier();
        var (decay, noDecay) = Trainer.ParameterGroups(model);
        using var optimizer = new FlatAdamW(decay, noDecay, 0.01, 0.9, 0.999, 1e-8);
        var data = TinyData.Separable(16, 1);
        for (var step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            model.Forward(data.Collate(Enumerable.Range(0, 8).ToArray())).Loss!.backward();
            optimizer.Step(1e-3, maxGradNorm: 1.0);
            optimizer.ZeroGrad();
        }
        foreach (var group in new[] { decay, noDecay })
        {
            // one buffer per group: each parameter (and its gradient) starts where the one before it ends
            var offsets = group.Select(p => (Data: p.Param.storage_offset(), Grad: p.Param.grad!.storage_offset(), Size: p.Param.numel())).ToArray();
            Assert.Equal((0L, 0L), (offsets[0].Data, offsets[0].Grad));
            for (var i = 1; i < offsets.Length; i++)
            {
                Assert.Equal(offsets[i - 1].Data + offsets[i - 1].Size, offsets[i].Data);
                Assert.Equal(offsets[i - 1].Grad + offsets[i - 1].Size, offsets[i].Grad);
            }
            Assert.All(group, p => Assert.Equal(0, p.Param.grad!.abs().sum().item<float>()));
        }
    }

    [Theory]
    [InlineData(1.0)] // clips: the gradients' norm is far above 1
    [InlineData(1e6)] // the coefficient clamps to 1
    public void ClippingMatchesLibtorchsClipGradNorm(double maxNorm)
    {
        (Parameter[] All, (string Name, Parameter Param)[] Decay, (string Name, Parameter Param)[] NoDecay) WithGradients()
        {
            manual_seed(3);
            Parameter[] parameters = [new(randn(7, 5)), new(randn(5)), new(randn(1))];
            foreach (var p in parameters) (p * randn(p.shape) * 10).sum().backward();
            return (parameters, [("a.weight", parameters[0])], [("a.bias", parameters[1]), ("b.bias", parameters[2])]);
        }
        var expected = WithGradients().All;
        var expectedNorm = nn.utils.clip_grad_norm_(expected, maxNorm);
        var (all, decay, noDecay) = WithGradients();
        var grads = all.Select(p => p.grad!.clone()).ToArray();
        using var optimizer = new FlatAdamW(decay, noDecay, 0, 0.9, 0.999, 1e-8);
        for (var i = 0; i < all.Length; i++) all[i].grad!.copy_(grads[i]); // the buffers start at zero
        Assert.Equal(expectedNorm, optimizer.ClipGradNorm(maxNorm).item<float>(), 1e-5);
        for (var i = 0; i < all.Length; i++)
            Assert.True(all[i].grad!.allclose(expected[i].grad!, rtol: 1e-6, atol: 0), $"parameter {i}");
    }
}
