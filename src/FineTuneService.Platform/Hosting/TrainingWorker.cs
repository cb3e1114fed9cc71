using FineTuneService.Platform.Hub;
using FineTuneService.Platform.Scheduling;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Hosting;

/// <summary>What runs training: a Hangfire server on the <c>training</c> queue with one worker per device, the job
/// class, and the recovery loop that re-enqueues jobs whose worker died.</summary>
public static class TrainingWorker
{
    public static WebApplicationBuilder AddTrainingWorker(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WorkerOptions>().BindConfiguration("Worker").ValidateDataAnnotations()
            .Validate(o => o.DeviceList.Count > 0, "Worker:Devices names no device")
            .Validate(o => o.DeviceList.All(TorchDevices.IsValid), "Worker:Devices: each is auto, cpu, cuda or cuda:<index>").ValidateOnStart();
        services.AddSingleton<DevicePool>();
        services.AddTransient<TrainingJob>();
        services.AddHostedService<JobRecovery>();
        services.AddHangfireServer((provider, server) =>
        {
            server.Queues = [TrainingJob.Queue];
            server.WorkerCount = provider.GetRequiredService<IOptions<WorkerOptions>>().Value.DeviceList.Count;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
        });
        // Webhook deliveries on their own server, so a receiver's retries never hold a device's worker.
        services.AddTransient<WebhookSender>();
        services.AddHttpClient(WebhookSender.Queue, (provider, client) =>
                client.Timeout = TimeSpan.FromSeconds(provider.GetRequiredService<IOptions<WebhookOptions>>().Value.TimeoutSeconds))
            // A redirect could lead to a host the allow-list never saw.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddHangfireServer((_, server) =>
        {
            server.Queues = [WebhookSender.Queue];
            server.WorkerCount = 2;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:webhooks";
        });
        services.AddHubImportServer();
        // Room for a running job to notice the stop and hand its lease back.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));
        return builder;
    }
}
