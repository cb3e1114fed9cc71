using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FineTuneService.Platform.Persistence;

/// <summary>Brings the schema up to date before any hosted service (web server, Hangfire server, recovery) starts.
/// PostgreSQL gets the migrations. Embedded SQLite gets <c>EnsureCreated</c>: it is a single-user, throw-away
/// database under the data folder, and one migrations set keeps the PostgreSQL schema the only one we evolve.</summary>
sealed class DatabaseMigrator(IServiceScopeFactory scopes) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        if (db.Database.IsSqlite())
        {
            await db.Database.EnsureCreatedAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        else
        {
            // Hosts starting together would apply a migration twice: EF's PostgreSQL lock ends at each migration's commit.
            // A session advisory lock, on the connection the migrations run on, covers the whole run.
            await db.Database.OpenConnectionAsync(cancellationToken);
            try
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLock})", cancellationToken);
                try { await db.Database.MigrateAsync(cancellationToken); }
                finally { await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None); }
            }
            finally { await db.Database.CloseConnectionAsync(); }
        }
    }

    const long MigrationLock = 0x46_54_53_5F_4D_49_47; // "FTS_MIG"

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
