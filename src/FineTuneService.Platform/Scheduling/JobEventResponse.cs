using FineTuneService.Platform.Persistence;

namespace FineTuneService.Platform.Scheduling;

public sealed record JobEventResponse(long Id, DateTime CreatedAt, string Level, string Message)
{
    public static JobEventResponse From(JobEvent e) => new(e.Id, e.CreatedAt, e.Level, e.Message);
}
