using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuneService.Platform.Hub;

public static class HubSetup
{
    /// <summary>The Hub client (both hosts: the Api resolves and sizes a pull, the workers download).</summary>
    public static IServiceCollection AddHub(this IServiceCollection services)
    {
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Valid(), "Hub:Endpoint: an absolute https URL (http only on loopback), without a query; Hub:TenantTokens keys are tenant ids")
            .ValidateOnStart();
        services.AddHttpClient<HubClient>(HubClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            // Redirects are followed by hand, so the token never reaches another host; files arrive as stored, to be hashed.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        services.AddTransient<HubImport>();
        return services;
    }

    /// <summary>Workers download on their own Hangfire server, so a long pull never holds a device's worker.</summary>
    public static IServiceCollection AddHubImportServer(this IServiceCollection services)
    {
        services.AddHostedService<HubImportRecovery>();
        return services.AddHangfireServer((provider, server) =>
        {
            server.Queues = [HubImport.Queue];
            server.WorkerCount = provider.GetRequiredService<IOptions<HubOptions>>().Value.Concurrency;
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:hub";
        });
    }
}
