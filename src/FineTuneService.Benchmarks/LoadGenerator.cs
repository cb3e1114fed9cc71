using System.Diagnostics;

namespace FineTuneService.Benchmarks;

/// <summary>Closed-loop clients: each sends its next request as soon as the previous one is answered.
/// Requests finished during the warm-up are not counted.</summary>
public static class LoadGenerator
{
    public static async Task<LoadResult> RunAsync(int clients, TimeSpan warmup, TimeSpan measure, IReadOnlyList<string> texts,
        Func<string, Task> call)
    {
        var latencies = new List<double>[clients];
        var started = Stopwatch.GetTimestamp();
        var measureFrom = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var stopAt = measureFrom + (long)(measure.TotalSeconds * Stopwatch.Frequency);
        var tasks = Enumerable.Range(0, clients).Select(async c =>
        {
            latencies[c] = [];
            for (int i = c; Stopwatch.GetTimestamp() < stopAt; i += clients)
            {
                long sent = Stopwatch.GetTimestamp();
                await call(texts[i % texts.Count]);
                if (sent >= measureFrom)
                {
                    latencies[c].Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                }
            }
        }).ToArray();
        await Task.WhenAll(tasks);
        return Summarize(clients, latencies, Stopwatch.GetElapsedTime(measureFrom).TotalSeconds);
    }

    /// <summary>The same loop on dedicated threads, for a synchronous in-process peer.</summary>
    public static LoadResult RunOnThreads(int clients, TimeSpan warmup, TimeSpan measure, IReadOnlyList<string> texts, Action<string> call)
    {
        var latencies = new List<double>[clients];
        var started = Stopwatch.GetTimestamp();
        var measureFrom = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var stopAt = measureFrom + (long)(measure.TotalSeconds * Stopwatch.Frequency);
        var threads = Enumerable.Range(0, clients).Select(c => new Thread(() =>
        {
            latencies[c] = [];
            for (int i = c; Stopwatch.GetTimestamp() < stopAt; i += clients)
            {
                long sent = Stopwatch.GetTimestamp();
                call(texts[i % texts.Count]);
                if (sent >= measureFrom)
                {
                    latencies[c].Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                }
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }
        foreach (var thread in threads)
        {
            thread.Join();
        }
        return Summarize(clients, latencies, Stopwatch.GetElapsedTime(measureFrom).TotalSeconds);
    }

    static LoadResult Summarize(int clients, List<double>[] latencies, double seconds)
    {
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(clients, all.Length, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    internal static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
