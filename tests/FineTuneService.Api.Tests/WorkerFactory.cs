namespace FineTuneService.Api.Tests;

/// <summary>Seeded Api in-process plus real Worker processes on the same database and storage, with short leases
/// so a killed worker is noticed within seconds.</summary>
public class WorkerFactory : SeededApiFactory
{
    public IReadOnlyDictionary<string, string> WorkerSettings => new Dictionary<string, string>(AllSettings)
    {
        ["Worker:Devices"] = "cpu",
        ["Jobs:LeaseSeconds"] = "4",
        ["Jobs:HeartbeatSeconds"] = "0.5",
        ["Jobs:RecoverySeconds"] = "1",
    };

    internal HostProcess StartWorker() => HostProcess.Start("FineTuneService.Worker", WorkerSettings);
}
