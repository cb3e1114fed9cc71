using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using FineTuneService.Platform.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Scheduling;

/// <summary>A job as Server-Sent Events, read from the database so it works whichever process trains the job:
/// <c>status</c> (the whole job, first and on every status change), <c>progress</c>, <c>metric</c>, <c>event</c>,
/// and <c>end</c> once the job has finished and everything before it was sent.</summary>
public static class JobStream
{
    const int Batch = 500;

    public static async IAsyncEnumerable<SseItem<object>> ReadAsync(
        Guid id, StreamCursor cursor, IServiceScopeFactory scopes, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        JobStatus? sentStatus = null;
        var sentStep = -1;
        while (true)
        {
            Job? job;
            List<MetricPoint> points;
            List<JobEvent> events;
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                // The row first: whatever the job wrote before it finished is committed by the time its status says so.
                job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
                if (job is null) yield break;
                points = await db.MetricPoints.AsNoTracking().Where(p => p.JobId == id && p.Id > cursor.Metric)
                    .OrderBy(p => p.Id).Take(Batch).ToListAsync(cancellationToken);
                events = await db.JobEvents.AsNoTracking().Where(e => e.JobId == id && e.Id > cursor.Event)
                    .OrderBy(e => e.Id).Take(Batch).ToListAsync(cancellationToken);
            }

            if (job.Status != sentStatus)
            {
                sentStatus = job.Status;
                sentStep = job.Step;
                yield return new SseItem<object>(JobResponse.From(job), "status") { EventId = cursor.ToString(), ReconnectionInterval = TimeSpan.FromSeconds(1) };
            }
            else if (job.Step != sentStep)
            {
                sentStep = job.Step;
                yield return new SseItem<object>(new JobProgressEvent(job.Status, job.Step, job.TotalSteps, job.Epoch), "progress") { EventId = cursor.ToString() };
            }
            foreach (var point in points)
            {
                cursor = cursor with { Metric = point.Id };
                yield return new SseItem<object>(MetricPointResponse.From(point), "metric") { EventId = cursor.ToString() };
            }
            foreach (var e in events)
            {
                cursor = cursor with { Event = e.Id };
                yield return new SseItem<object>(JobEventResponse.From(e), "event") { EventId = cursor.ToString() };
            }

            if (points.Count == Batch || events.Count == Batch) continue;
            if (JobStatusGroups.Finished.Contains(job.Status))
            {
                yield return new SseItem<object>(new JobEndEvent(job.Status), "end") { EventId = cursor.ToString() };
                yield break;
            }
            await Task.Delay(interval, cancellationToken);
        }
    }
}
