using FineTuneService.Training.Models;
using FineTuneService.Training.Trainer;

namespace FineTuneService.Training.Jobs;

/// <summary>The core's entry point for the platform: checks a job spec, then runs it, dispatching on
/// <see cref="TrainingJobRequest.Type"/>. Each job type lives in its own class with the same two methods.</summary>
public static class TrainingJobRunner
{
    /// <summary>Every problem a spec has that shows without training, keyed by the job field it concerns
    /// (<c>task</c>, <c>device</c>, <c>columns.label</c>, <c>hyperparameters.learning_rate</c>, …). Empty when the job can run.</summary>
    public static IReadOnlyDictionary<string, string[]> Validate(TrainingJobRequest request)
    {
        var job = TaskCatalogue.FindJobType(request.Type);
        var errors = job == TaskCatalogue.FineTune ? FineTuneJob.Validate(request)
            : job == TaskCatalogue.Pretrain ? PretrainingJob.Validate(request)
            : new Dictionary<string, string[]> { ["type"] = [TaskCatalogue.Refusal(request.Type, request.Task)!.Value.Message + "."] };
        if (!TorchDevices.IsValid(request.Device))
            return new Dictionary<string, string[]>(errors) { ["device"] = [$"'{request.Device}' is not a device; use auto, cpu, cuda or cuda:<index>."] };
        var precision = PrecisionErrors(request).ToArray();
        return precision.Length == 0 ? errors : new Dictionary<string, string[]>(errors.Concat(precision));
    }

    /// <summary>bf16 needs CUDA or a CPU with bfloat16 instructions (AVX-512 BF16 or AMX), tf32 a CUDA device: the
    /// device the spec names, or for auto this host's.</summary>
    static IEnumerable<KeyValuePair<string, string[]>> PrecisionErrors(TrainingJobRequest request)
    {
        bool Requested(string name) => request.Hyperparameters[name] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var on) && on;
        var cuda = TorchDevices.IsCuda(request.Device);
        if (Requested("bf16") && !cuda && !CpuHasBf16.Value)
            yield return new("hyperparameters.bf16", ["needs a CUDA device or a CPU with AVX-512 BF16 or AMX instructions; this host's CPU has neither."]);
        if (Requested("tf32") && !cuda)
            yield return new("hyperparameters.tf32", ["TensorFloat-32 needs a CUDA device (device cuda, or auto on a GPU host)."]);
    }

    static readonly Lazy<bool> CpuHasBf16 = new(() => OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")
        && File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags", StringComparison.Ordinal)
            && l.Split(' ').Any(f => f is "avx512_bf16" or "amx_bf16")));

    /// <summary>Runs the job to the end, resuming from the newest complete checkpoint under
    /// <c>WorkDir/checkpoints</c>; throws <see cref="OperationCanceledException"/> when cancelled between steps, and
    /// <see cref="TrainingPausedException"/> after checkpointing the step in progress when <paramref name="pause"/> is set.</summary>
    public static TrainingJobResult Run(TrainingJobRequest request, ITrainingObserver observer, CancellationToken cancellationToken,
        CancellationToken pause = default)
    {
        var job = TaskCatalogue.FindJobType(request.Type);
        return job == TaskCatalogue.FineTune ? FineTuneJob.Run(request, observer, cancellationToken, pause)
            : job == TaskCatalogue.Pretrain ? PretrainingJob.Run(request, observer, cancellationToken, pause)
            : throw new ArgumentException($"'{request.Type}' is not a job type.", nameof(request));
    }
}
