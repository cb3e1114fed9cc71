using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FineTuneService.Training;

/// <summary>Process-wide settings that libtorch's OpenMP runtime reads once, when it loads, so they are made when this
/// assembly loads: before any of our code can touch libtorch.</summary>
static class TorchRuntime
{
    /// <summary>OpenMP threads that wait at a barrier sleep instead of spinning (<c>OMP_WAIT_POLICY=PASSIVE</c>),
    /// unless the environment already says otherwise. By default libgomp spins, and a spinning thread keeps the
    /// core its late sibling needs whenever anything else runs on the machine (another job, the inference host, a
    /// build): a fine-tune step's matrix products on a busy 2-core box ran 2.9× slower spinning than sleeping.</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "must run before libtorch (and its OpenMP runtime) loads")]
    internal static void Initialize()
    {
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            // .NET keeps its own copy of the environment; the native one is what libgomp reads.
            _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", overwrite: 0);
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
