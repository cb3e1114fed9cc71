using FineTuneService.Training.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Trainer;

/// <summary>bf16: float32 master weights and optimizer state, a bfloat16 working copy for the forward and backward
/// (LayerNorm weights stay float32), the loss in float32. libtorch computes bfloat16 on any CPU (fast with AVX-512 BF16
/// or AMX), so these run everywhere. Runs alone: dropout draws from torch's process-wide generator.</summary>
[Collection(nameof(RunsAlone))]
public class Bf16Tests(ITestOutputHelper output)
{
    const string Recipe = """{"max_steps": 36, "learning_rate": 1e-2, "warmup_steps": 3, "weight_decay": 0.01, "logging_steps": 1, "save_steps": 12, "eval_strategy": "no", "bf16": true}""";

    [Fact]
    public void TrainsInBf16WithFloat32MastersAndEndsInFloat32()
    {
        var dir = TinyData.TempDir();
        var observer = new RecordingObserver();
        var args = TrainerTests.Args(Recipe);
        var (_, _, model) = TrainerTests.Run(args, dir, observer);
        var (_, fp32Observer, fp32Model) = TrainerTests.Run(args with { Bf16 = false, SaveStrategy = "no" }, TinyData.TempDir());

        var losses = observer.Losses.Select(l => l.Loss).ToArray();
        var reference = fp32Observer.Losses.Select(l => l.Loss).ToArray();
        var worst = losses.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"bf16 losses {losses[0]:F4} → {losses[^1]:F4}, float32 {reference[0]:F4} → {reference[^1]:F4}; max |diff| {worst:F4}");
        Assert.True(losses[^4..].Average() < losses[..4].Average() * 0.8, string.Join(", ", losses));
        Assert.True(worst < 0.05, $"bf16 strays from float32 by {worst}");
        Assert.NotEqual(losses, reference); // it did compute in bf16

        // After training the model holds float32 weights (the masters), as do the checkpoints.
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(SafeTensors.Index(Path.Combine(dir, "checkpoints", "checkpoint-36", "model.safetensors")), t => Assert.Equal(ScalarType.Float32, t.DType));
        var drift = model.named_parameters().Max(p => (p.parameter - fp32Model.named_parameters().Single(q => q.name == p.name).parameter).abs().max().item<float>());
        Assert.True(drift is > 0 and < 0.25f, $"bf16 weights differ from float32's by {drift}");
    }

    [Fact]
    public void ComputesWithABf16CopyButKeepsLayerNormInFloat32()
    {
        var observer = new RecordingObserver();
        Dictionary<string, ScalarType>? during = null;
        TorchSharp.torch.nn.Module? module = null;
        observer.OnStep = step => { if (step == 2) during = module!.named_parameters().ToDictionary(p => p.name, p => p.parameter.dtype); };
        var args = TrainerTests.Args(Recipe) with { MaxSteps = 3, SaveStrategy = "no" };
        FineTuneService.Training.Trainer.Trainer.SetSeed(args.Seed);
        var model = TinyBert.Classifier(args.Seed);
        module = model;
        new FineTuneService.Training.Trainer.Trainer(model, args, TinyData.Separable(32, 1), null, ["neg", "pos"], TinyData.TempDir(), observer).Train(CancellationToken.None);
        Assert.NotNull(during);
        foreach (var (name, dtype) in during!)
            Assert.True(dtype == (name.Contains("LayerNorm") ? ScalarType.Float32 : ScalarType.BFloat16), $"{name}: {dtype}");
    }

    [Fact]
    public void ResumedBf16RunRepeatsTheUninterruptedLosses()
    {
        var args = TrainerTests.Args(Recipe);
        var (_, full, _) = TrainerTests.Run(args with { SaveStrategy = "no" }, TinyData.TempDir());
        var dir = TinyData.TempDir();
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => TrainerTests.Run(args, dir, new RecordingObserver(cancel, cancelAtStep: 15), cancel.Token));
        var (_, resumed, _) = TrainerTests.Run(args, dir);
        Assert.Contains(resumed.Events, e => e.Contains("checkpoint-12"));
        var expected = full.Losses.Where(l => l.Step > 12).ToArray();
        Assert.Equal(expected.Select(l => l.Step), resumed.Losses.Select(l => l.Step));
        Assert.Equal(expected.Select(l => l.Loss), resumed.Losses.Select(l => l.Loss));
    }
}
