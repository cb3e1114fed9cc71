using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Jobs;
using FineTuneService.Platform.Models;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuneService.Platform.Hosting;

/// <summary>The REST surface of the Api host: datasets, models, jobs, Swagger UI and the Hangfire dashboard.</summary>
public static class TrainingApi
{
    public static WebApplicationBuilder AddTrainingApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen();
        return builder;
    }

    public static WebApplication MapTrainingApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI();
        app.UseHangfireDashboard("/hangfire");
        app.MapDatasetEndpoints();
        app.MapModelEndpoints();
        app.MapJobEndpoints();
        return app;
    }
}
