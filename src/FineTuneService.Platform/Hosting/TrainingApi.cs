using FineTuneService.Platform.Dashboard;
using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Registry;
using FineTuneService.Platform.Scheduling;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Tenants;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FineTuneService.Platform.Hosting;

/// <summary>The REST surface of the Api host: datasets, models, jobs, tenants and keys, the web dashboard, Swagger UI and
/// the Hangfire dashboard.</summary>
public static class TrainingApi
{
    public static WebApplicationBuilder AddTrainingApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApiDocument();
        builder.AddHangfireSignIn();
        return builder;
    }

    public static WebApplication MapTrainingApi(this WebApplication app)
    {
        app.MapDashboard();
        app.UseSwagger();
        app.UseSwaggerUI();
        app.MapHangfireWithSignIn();
        app.MapDatasetEndpoints();
        app.MapModelEndpoints();
        app.MapJobEndpoints();
        app.MapTenantEndpoints();
        app.Lifetime.ApplicationStarted.Register(() => LogWhereToLook(app));
        return app;
    }

    /// <summary>A person who just ran the host learns where its pages and its data are.</summary>
    static void LogWhereToLook(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
            app.Logger.LogInformation("Swagger UI: {SwaggerUrl}", address.TrimEnd('/') + "/swagger");
        app.Logger.LogInformation("Data folder: {StorageRoot}", app.Services.GetRequiredService<ArtifactStore>().Root);
    }
}
