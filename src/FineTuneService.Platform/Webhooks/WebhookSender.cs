using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FineTuneService.Platform.Http;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Scheduling;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Webhooks;

/// <summary>Sends one job event to each of its webhooks that wants it: a JSON POST signed with HMAC-SHA256 over
/// <c>{timestamp}.{body}</c> (header <c>X-FineTune-Signature: t=…,v1=…</c>), retried after each of
/// Webhooks:RetryDelays on a network error or a non-2xx answer; every attempt is logged on the job.</summary>
public sealed class WebhookSender(IServiceScopeFactory scopes, IHttpClientFactory clients, IOptions<WebhookOptions> options,
    TimeProvider clock, ILogger<WebhookSender> logger)
{
    public const string Queue = "webhooks";
    public const string SignatureHeader = "X-FineTune-Signature";

    [Queue(Queue), AutomaticRetry(Attempts = 0)]
    public async Task DeliverAsync(Guid jobId, string type, Guid deliveryId, DateTime createdAt, CancellationToken cancellationToken)
    {
        Job? job;
        await using (var scope = scopes.CreateAsyncScope())
            job = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null) return;
        var body = JsonSerializer.Serialize(new WebhookEvent(deliveryId, type, createdAt, JobResponse.From(job)), PlatformJson.Options);
        foreach (var webhook in JobSpec.FromJson(job.Spec).Webhooks ?? [])
            if (webhook.Subscribed.Contains(type)) await SendAsync(jobId, type, deliveryId, webhook, body, cancellationToken);
    }

    async Task SendAsync(Guid jobId, string type, Guid deliveryId, Webhook webhook, string body, CancellationToken cancellationToken)
    {
        var url = new Uri(webhook.Url!);
        // The query may carry a receiver's token: the log shows the address without it.
        var shown = url.GetLeftPart(UriPartial.Path);
        if (!options.Value.Allows(url))
        {
            Log(jobId, "warning", $"Webhook {type} to {shown} not sent: its host is no longer in Webhooks:AllowedHosts.");
            return;
        }
        var delays = options.Value.RetryDelayList;
        var client = clients.CreateClient(Queue);
        for (var attempt = 1; ; attempt++)
        {
            string outcome;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
                request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Sign(webhook.Secret!, timestamp, body)}");
                request.Headers.Add("X-FineTune-Event", type);
                request.Headers.Add("X-FineTune-Delivery", deliveryId.ToString());
                using var response = await client.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    Log(jobId, "info", $"Webhook {type} delivered to {shown} (HTTP {(int)response.StatusCode}, attempt {attempt}).");
                    return;
                }
                outcome = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                outcome = e is TaskCanceledException ? "timed out" : e.Message;
            }
            if (attempt > delays.Count)
            {
                Log(jobId, "error", $"Webhook {type} to {shown} failed (attempt {attempt}: {outcome}); giving up.");
                logger.LogWarning("Webhook {Type} for job {JobId} to {Url} failed {Attempts} times", type, jobId, shown, attempt);
                return;
            }
            var delay = delays[attempt - 1];
            Log(jobId, "warning", $"Webhook {type} to {shown} failed (attempt {attempt}: {outcome}); retrying in {delay.TotalSeconds:0.#} s.");
            await Task.Delay(delay, clock, cancellationToken);
        }
    }

    /// <summary>Hex HMAC-SHA256 of <c>{timestamp}.{body}</c>: what a receiver recomputes with its secret to check the header.</summary>
    public static string Sign(string secret, long timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    void Log(Guid jobId, string level, string message) => JobEvents.Add(scopes, clock, jobId, level, message);
}
