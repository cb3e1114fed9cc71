using FineTuneService.Platform.Http;
using FineTuneService.Platform.Hub;
using FineTuneService.Platform.Identity;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Scheduling;
using FineTuneService.Platform.Storage;
using FineTuneService.Platform.Webhooks;
using FineTuneService.Training;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Prometheus;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace FineTuneService.Platform.Hosting;

/// <summary>What every host shares: structured logs, options, problem details, the database, Hangfire storage,
/// health checks and Prometheus metrics.</summary>
public static class PlatformDefaults
{
    /// <summary>No <c>ConnectionStrings:Postgres</c>: one process with SQLite, in-memory Hangfire, an in-process worker.</summary>
    public static bool IsEmbedded(this IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres"));

    public static WebApplicationBuilder AddPlatformDefaults(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddSerilog((_, logger) => logger
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Hangfire", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .WriteTo.Console(new RenderedCompactJsonFormatter()));

        services.AddOptions<StorageOptions>().BindConfiguration("Storage").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<JobOptions>().BindConfiguration("Jobs").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebhookOptions>().BindConfiguration("Webhooks").ValidateDataAnnotations()
            .Validate(o => { try { return o.RetryDelayList.All(d => d >= TimeSpan.Zero); } catch (FormatException) { return false; } },
                "Webhooks:RetryDelays: comma-separated seconds, each >= 0").ValidateOnStart();
        services.AddSingleton<WebhookNotifier>();
        services.AddHub();
        services.AddOptions<ModelBudget>().BindConfiguration(ModelBudget.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DataLimits>().BindConfiguration(DataLimits.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ArtifactStore>();
        services.AddSingleton<IStorageBudget, VolumeStorageBudget>();
        services.AddSingleton(TimeProvider.System);

        services.AddRateLimiter(_ => { });
        services.AddProblemDetails(options => options.CustomizeProblemDetails = ProblemExceptionHandler.Customize);
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.ConfigureHttpJsonOptions(options => PlatformJson.Configure(options.SerializerOptions));
        // Parameter binding failures reach the exception handler, which answers problem details naming the parameter.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

        var postgres = configuration.GetConnectionString("Postgres");
        services.AddDbContext<AppDbContext>((provider, options) =>
        {
            if (string.IsNullOrWhiteSpace(postgres))
            {
                var root = provider.GetRequiredService<ArtifactStore>().Root;
                Directory.CreateDirectory(root);
                options.UseSqlite($"Data Source={Path.Combine(root, "finetuneservice.db")}");
            }
            else
            {
                options.UseNpgsql(postgres);
            }

            options.UseSnakeCaseNamingConvention();
        });
        services.AddHostedService<DatabaseMigrator>();

        services.AddHangfire(hangfire =>
        {
            hangfire.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            if (string.IsNullOrWhiteSpace(postgres))
            {
                hangfire.UseInMemoryStorage();
            }
            // Sliding invisibility: a job running longer than the timeout is not handed to a second worker.
            else
            {
                hangfire.UsePostgreSqlStorage(options => options.UseNpgsqlConnection(postgres),
                new PostgreSqlStorageOptions
                {
                    UseSlidingInvisibilityTimeout = true,
                    // A job fetched by a worker that then died is handed on after this, not after the default 30 minutes
                    // (a running job's fetch is kept alive, and its lease keeps a second delivery from running it twice).
                    InvisibilityTimeout = TimeSpan.FromMinutes(2),
                    // LISTEN/NOTIFY: a worker takes a new job at once instead of at the next 15 s poll.
                    EnableLongPolling = true,
                    SchemaName = "hangfire",
                });
            }
        });

        services.AddHealthChecks().AddDbContextCheck<AppDbContext>("database", tags: ["ready"]);
        builder.AddPlatformIdentity();
        return builder;
    }

    /// <summary>Request logging, problem details for every error, identity, health and metrics endpoints.</summary>
    public static WebApplication UsePlatformDefaults(this WebApplication app)
    {
        app.UseSerilogRequestLogging(options => options.EnrichDiagnosticContext = (log, context) =>
        {
            if (Caller.From(context.User) is not { } caller) return;
            log.Set("KeyName", caller.KeyName);
            log.Set("TenantId", caller.TenantId);
        });
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Handled user mistakes are answered, not logged as errors; unknown exceptions still are.
            SuppressDiagnosticsCallback = context => context.Exception is ProblemException or InvalidInputException or BadHttpRequestException,
        });
        app.UseStatusCodePages();
        app.UsePlatformIdentity();
        // After identity, so a limit counts against the authenticated key; policies are opt-in per endpoint group.
        app.UseRateLimiter();
        app.UseHttpMetrics();
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithExposure(auth.Health);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithExposure(auth.Health);
        app.MapMetrics("/metrics").WithExposure(auth.Metrics);
        return app;
    }
}
