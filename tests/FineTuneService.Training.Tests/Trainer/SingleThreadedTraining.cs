using System.Runtime.CompilerServices;

namespace FineTuneService.Training.Tests.Trainer;

static class SingleThreadedTraining
{
    /// <summary>xUnit runs test classes in parallel; a Trainer per class with one OpenMP thread per core oversubscribes
    /// the CPU and the spinning threads slow tiny-model steps ~40× (measured 409 ms vs 11 ms on a loaded 2-core box).
    /// The Trainer honours OMP_NUM_THREADS, so tests train on one thread each.</summary>
    [ModuleInitializer]
    internal static void Initialize() => Environment.SetEnvironmentVariable("OMP_NUM_THREADS", "1");
}
