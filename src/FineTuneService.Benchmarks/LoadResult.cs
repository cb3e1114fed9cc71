namespace FineTuneService.Benchmarks;

/// <summary>Throughput and latency percentiles of a closed loop of concurrent clients.</summary>
public sealed record LoadResult(int Clients, int Requests, double Seconds, double P50Ms, double P99Ms)
{
    public double PerSecond => Requests / Seconds;
}
