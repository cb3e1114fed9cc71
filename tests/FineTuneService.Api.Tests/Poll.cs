using System.Diagnostics;

namespace FineTuneService.Api.Tests;

static class Poll
{
    /// <summary>Polls until <paramref name="done"/> holds; fails with <paramref name="why"/> (e.g. a worker's log) after the timeout.</summary>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Func<T, string> why)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (clock.Elapsed > timeout) Assert.Fail($"not done after {timeout.TotalSeconds} s: {why(value)}");
            await Task.Delay(100);
        }
    }
}
