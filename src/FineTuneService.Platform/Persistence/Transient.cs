using System.Data.Common;
using System.Diagnostics;

namespace FineTuneService.Platform.Persistence;

/// <summary>Database errors that pass (a restart, a dropped connection), and retries through them: a running job's writes
/// wait out a short outage instead of failing the job. Longer than <see cref="Patience"/> and the error stands (the lease
/// lapses by then anyway, and another worker resumes the job).</summary>
public static class Transient
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    public static bool Is(Exception e) => e is DbException { IsTransient: true } || e.InnerException is DbException { IsTransient: true };

    public static void Retry(Action write)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { write(); return; }
            catch (Exception e) when (Is(e) && clock.Elapsed < Patience) { Thread.Sleep(Pause); }
        }
    }

    public static async Task RetryAsync(Func<Task> write)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { await write(); return; }
            catch (Exception e) when (Is(e) && clock.Elapsed < Patience) { await Task.Delay(Pause); }
        }
    }
}
