using FineTuneService.Platform.Hosting;
using FineTuneService.Platform.Persistence;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FineTuneService.Platform.Hub;

/// <summary>Embedded mode keeps Hangfire's queue in memory, so a restart forgets the pulls that were downloading: at start
/// (the only process, so nobody else runs them) each is enqueued again and resumes from the cache and its partial file.
/// With PostgreSQL, Hangfire itself hands a dead worker's job to another after its invisibility timeout.</summary>
sealed class HubImportRecovery(IServiceScopeFactory scopes, IBackgroundJobClient jobs, IConfiguration configuration, ILogger<HubImportRecovery> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.IsEmbedded()) return;
        // The schema is in place: DatabaseMigrator runs before any hosted service starts.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        foreach (var id in await db.Models.Where(m => m.Status == ModelStatus.Importing).Select(m => m.Id).ToListAsync(stoppingToken))
        {
            jobs.Enqueue<HubImport>(import => import.RunAsync(id, CancellationToken.None));
            logger.LogInformation("Model {ModelId}: Hub import enqueued again after a restart", id);
        }
    }
}
