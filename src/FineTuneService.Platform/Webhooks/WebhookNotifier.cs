using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Scheduling;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Webhooks;

/// <summary>Where a job's status changes, hands its event to the webhook queue when one of the job's webhooks wants it.
/// Hangfire's storage makes the delivery outlive this process; a worker's webhook server sends it.</summary>
public sealed class WebhookNotifier(IServiceScopeFactory scopes, IBackgroundJobClient jobs, TimeProvider clock)
{
    public void Notify(Guid jobId, string type)
    {
        using var scope = scopes.CreateScope();
        var spec = scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs.AsNoTracking()
            .Where(j => j.Id == jobId).Select(j => j.Spec).FirstOrDefault();
        if (spec is null || JobSpec.FromJson(spec).Webhooks?.Any(w => w.Subscribed.Contains(type)) != true) return;
        var (deliveryId, at) = (Guid.NewGuid(), clock.GetUtcNow().UtcDateTime);
        jobs.Enqueue<WebhookSender>(sender => sender.DeliverAsync(jobId, type, deliveryId, at, CancellationToken.None));
    }
}
