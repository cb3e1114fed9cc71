using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>How the service opens an ONNX Runtime session (the benchmark's ONNX Runtime peer opens its own the same
/// way): the CPU execution provider with all graph optimizations, or the CUDA execution provider when the device is
/// CUDA (the <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c> build).</summary>
public static class OnnxSessions
{
    /// <summary>As libtorch's OpenMP threads (OMP_WAIT_POLICY=PASSIVE): waiting threads sleep, so a busy neighbour does
    /// not stall every run; <c>OMP_WAIT_POLICY=ACTIVE</c> lets them spin.</summary>
    public static bool AllowSpinning =>
        string.Equals(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), "ACTIVE", StringComparison.OrdinalIgnoreCase);

    public static SessionOptions Options(int threads, Device? device = null)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (!AllowSpinning)
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        if (device?.type == DeviceType.CUDA)
        {
            options.AppendExecutionProvider_CUDA(Math.Max(0, (int)device.index));
        }
        return options;
    }
}
