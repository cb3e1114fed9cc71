using FineTuneService.Platform.Datasets;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Jobs;
using FineTuneService.Platform.Models;
using FineTuneService.Platform.Tenants;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace FineTuneService.Platform.Hosting;

/// <summary>The REST surface of the Api host: datasets, models, jobs, tenants and keys, Swagger UI and the Hangfire dashboard.</summary>
public static class TrainingApi
{
    public static WebApplicationBuilder AddTrainingApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(swagger =>
        {
            // Swagger UI's Authorize button: paste a key, every "Try it out" sends it as a Bearer token.
            swagger.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "fts_…", Description = "An API key: Authorization: Bearer fts_…",
            });
            swagger.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        });
        builder.AddDashboardSignIn();
        return builder;
    }

    public static WebApplication MapTrainingApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI();
        app.MapDashboard();
        app.MapDatasetEndpoints();
        app.MapModelEndpoints();
        app.MapJobEndpoints();
        app.MapTenantEndpoints();
        return app;
    }
}
