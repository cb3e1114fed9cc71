using System.Runtime.CompilerServices;

namespace FineTuneService.Training.Tests.Trainer;

static class SingleThreadedTraining
{
    /// <summary>Tiny-model steps are dominated by per-op overhead; extra OpenMP threads only spin, and on a loaded
    /// 2-core box slowed steps ~40× (measured 409 ms vs 11 ms). The Trainer honours OMP_NUM_THREADS.</summary>
    [ModuleInitializer]
    internal static void Initialize() => Environment.SetEnvironmentVariable("OMP_NUM_THREADS", "1");
}
