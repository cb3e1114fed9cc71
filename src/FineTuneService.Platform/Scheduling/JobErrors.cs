using System.Text.RegularExpressions;

namespace FineTuneService.Platform.Scheduling;

/// <summary>What a user sees of a job's failure: the reason without server paths (a path becomes its file name), and a
/// trace id under which the log holds the whole exception.</summary>
static partial class JobErrors
{
    [GeneratedRegex(@"(?<![\w.~])(?:/[^\s'""/:;,()]+)+/([^\s'""/:;,()]*)")]
    private static partial Regex AbsolutePath();

    public static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException || e.InnerException is OutOfMemoryException
        || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("DefaultCPUAllocator", StringComparison.Ordinal);

    public static string ForUser(Exception e, string traceId)
    {
        var reason = IsOutOfMemory(e)
            ? "Out of memory: the model, batch or sequence length does not fit this worker; try a smaller per_device_train_batch_size or max_seq_length."
            : Scrub(e.Message);
        return $"{reason} (trace id {traceId})";
    }

    public static string Poisoned(int deaths, int step, int maxAttempts) =>
        $"The worker died {deaths} times; last seen at step {step}. Not tried again (Jobs:MaxAttempts = {maxAttempts}).";

    public static string Scrub(string message) => AbsolutePath().Replace(message, match => match.Groups[1].Value);
}
