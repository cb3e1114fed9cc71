using FineTuneService.Platform.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FineTuneService.Api.Tests;

/// <summary>The Api host against its own PostgreSQL database (created here, dropped after) and its own storage root.
/// The server is <see cref="TestPostgres"/>: <c>FTS_TEST_POSTGRES</c>, or a throwaway cluster the test run starts.</summary>
public class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const long MaxDatasetBytes = 64 * 1024;

    static string PostgresServer => TestPostgres.Server;

    readonly string database = "fts_test_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(PostgresServer) { Database = database }.ConnectionString;
    public string StorageRoot { get; } = Path.Combine(Path.GetTempPath(), "fts-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Settings a subclass adds (or overrides), e.g. shorter leases.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    public virtual async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(PostgresServer);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
        await create.ExecuteNonQueryAsync();
        Directory.CreateDirectory(StorageRoot);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(PostgresServer);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
        if (Directory.Exists(StorageRoot)) Directory.Delete(StorageRoot, recursive: true);
    }

    public IReadOnlyDictionary<string, string> AllSettings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Postgres"] = ConnectionString,
        ["Storage:Root"] = StorageRoot,
        ["Storage:MaxDatasetBytes"] = MaxDatasetBytes.ToString(),
        // The shared test machine's disk is often nearly full: only the test of the disk budget sets a floor.
        ["Storage:MinFreeBytes"] = "0",
    }.Concat(Settings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Settings for host processes on this database and storage, with short leases so a killed worker is noticed within seconds.</summary>
    public IReadOnlyDictionary<string, string> HostSettings => new Dictionary<string, string>(AllSettings)
    {
        ["Worker:Devices"] = "cpu",
        ["Jobs:LeaseSeconds"] = "8",
        ["Jobs:HeartbeatSeconds"] = "0.5",
        ["Jobs:RecoverySeconds"] = "1",
        ["Jobs:RetryBackoffSeconds"] = "1",
    };

    internal HostProcess StartHost(string project) => HostProcess.Start(project, HostSettings);

    internal HostProcess StartWorker() => StartHost("FineTuneService.Worker");

    /// <summary>The Api host in embedded mode: no PostgreSQL, so SQLite and an in-process worker, in its own data folder.</summary>
    internal HostProcess StartEmbedded() => HostProcess.Start("FineTuneService.Api", new Dictionary<string, string>(HostSettings)
    {
        ["ConnectionStrings:Postgres"] = "",
        ["Storage:Root"] = Path.Combine(StorageRoot, "embedded"),
    });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in AllSettings) builder.UseSetting(key, value);
    }

    /// <summary>A context on the test database, to look behind the API (rows left behind, attempts).</summary>
    public AppDbContext Db() => Services.CreateScope().ServiceProvider.GetRequiredService<AppDbContext>();

    /// <summary>Every file under a folder of the storage root (datasets, models, tmp); empty when nothing was left behind.</summary>
    public IReadOnlyList<string> StoredFiles(string folder) =>
        Directory.Exists(Path.Combine(StorageRoot, folder))
            ? Directory.GetFiles(Path.Combine(StorageRoot, folder), "*", SearchOption.AllDirectories)
            : [];
}
