using FineTuneService.Platform.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Scheduling;

/// <summary>Appends to a job's event log; given a lease, only while that lease is held.</summary>
static class JobEvents
{
    public static void Add(IServiceScopeFactory scopes, TimeProvider clock, Guid jobId, string level, string message, JobLease? lease = null) => Transient.Retry(() =>
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        if (lease is not null && !lease.Held(db.Jobs).Any()) return;
        db.JobEvents.Add(new JobEvent { JobId = jobId, CreatedAt = clock.GetUtcNow().UtcDateTime, Level = level, Message = message });
        db.SaveChanges();
    });
}
