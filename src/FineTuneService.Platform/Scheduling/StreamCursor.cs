using FineTuneService.Platform.Http;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Where a client is in a job's history: the last metric point and the last event it has seen. Written as
/// the SSE <c>id</c> <c>&lt;metric&gt;.&lt;event&gt;</c>; a reconnect with it as <c>Last-Event-ID</c> continues after both.</summary>
public readonly record struct StreamCursor(long Metric, long Event)
{
    public override string ToString() => $"{Metric}.{Event}";

    public static StreamCursor Parse(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) return default;
        var parts = value.Split('.');
        return parts.Length == 2 && long.TryParse(parts[0], out var metric) && long.TryParse(parts[1], out var @event) && metric >= 0 && @event >= 0
            ? new StreamCursor(metric, @event)
            : throw new RequestValidationException(field, $"'{value}' is not an event id of this stream (<metric>.<event>, as sent in 'id:')");
    }
}
