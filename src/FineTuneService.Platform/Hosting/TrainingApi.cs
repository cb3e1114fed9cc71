using FineTuneService.Platform.Dashboard;
using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Jobs;
using FineTuneService.Platform.Models;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Hosting;

/// <summary>The REST surface of the Api host: datasets, models, jobs, the web dashboard, Swagger UI and the Hangfire dashboard.</summary>
public static class TrainingApi
{
    public static WebApplicationBuilder AddTrainingApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApiDocument();
        return builder;
    }

    public static WebApplication MapTrainingApi(this WebApplication app)
    {
        app.MapDashboard();
        app.UseSwagger();
        app.UseSwaggerUI();
        app.UseHangfireDashboard("/hangfire");
        app.MapDatasetEndpoints();
        app.MapModelEndpoints();
        app.MapJobEndpoints();
        return app;
    }
}
