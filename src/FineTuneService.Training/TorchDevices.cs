using System.Text.RegularExpressions;
using TorchSharp;

namespace FineTuneService.Training;

/// <summary>The device names a job, a worker and the inference host accept: auto, cpu, cuda, cuda:&lt;index&gt;.</summary>
public static partial class TorchDevices
{
    public static bool IsValid(string spec) => spec == "auto" || Pattern().IsMatch(spec);

    /// <summary>"auto" picks CUDA when libtorch sees a GPU, else the CPU; otherwise the device the spec names.</summary>
    public static torch.Device Resolve(string spec) => spec == "auto" ? Auto() : torch.device(spec);

    /// <summary>CUDA when libtorch sees a GPU, else the CPU.</summary>
    public static torch.Device Auto() => torch.cuda.is_available() ? torch.CUDA : torch.CPU;

    /// <summary>Whether a valid spec names a CUDA device, or is auto on a host with a GPU.</summary>
    public static bool IsCuda(string spec) => spec.StartsWith("cuda", StringComparison.Ordinal) || (spec == "auto" && torch.cuda.is_available());

    [GeneratedRegex(@"^(cpu|cuda(:\d+)?)$")]
    private static partial Regex Pattern();
}
