using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Platform.Persistence;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FineTuneService.Api.Tests;

/// <summary>The Api host against its own PostgreSQL database (created here, dropped after) and its own storage root.
/// The server is <see cref="TestPostgres"/>: <c>FTS_TEST_POSTGRES</c>, or a throwaway cluster the test run starts.
/// Production mode requires keys: the factory configures a bootstrap admin key, makes a tenant "tests" with a member
/// key, and every client it creates (<see cref="WebApplicationFactory{T}.CreateClient()"/>, <see cref="HostClient"/>)
/// carries that member key.</summary>
public class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const long MaxDatasetBytes = 64 * 1024;
    public const string AdminKey = "fts_test_bootstrap_admin_key_0123456789abcdef";

    static string PostgresServer => TestPostgres.Server;

    readonly string database = "fts_test_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(PostgresServer) { Database = database }.ConnectionString;
    public string StorageRoot { get; } = Path.Combine(Path.GetTempPath(), "fts-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Settings a subclass adds (or overrides), e.g. shorter leases.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    /// <summary>The tenant of <see cref="MemberKey"/>, the key the factory's clients carry.</summary>
    public Guid TenantId { get; private set; }
    public string MemberKey { get; private set; } = "";

    public virtual async Task InitializeAsync()
    {
        await using (var connection = new NpgsqlConnection(PostgresServer))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await create.ExecuteNonQueryAsync();
        }
        Directory.CreateDirectory(StorageRoot);
        using var admin = Client(AdminKey);
        TenantId = await CreateTenant(admin, "tests");
        MemberKey = await CreateKey(admin, TenantId, "tests-member", "member");
    }

    /// <summary>A client of the in-process Api carrying <paramref name="key"/> (none: anonymous).</summary>
    public HttpClient Client(string? key)
    {
        var client = CreateDefaultClient();
        client.DefaultRequestHeaders.Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A client of a host process carrying the member key.</summary>
    public HttpClient HostClient(Uri url) => new() { BaseAddress = url, DefaultRequestHeaders = { Authorization = new("Bearer", MemberKey) } };

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MemberKey.Length > 0 ? MemberKey : AdminKey);
    }

    public static async Task<Guid> CreateTenant(HttpClient admin, string name, object? quotas = null)
    {
        var body = JsonSerializer.SerializeToElement(quotas ?? new { }).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        body["name"] = name;
        var response = await admin.PostAsJsonAsync("/tenants", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    public static async Task<string> CreateKey(HttpClient admin, Guid tenant, string name, string role, DateTime? expiresAt = null)
    {
        var response = await admin.PostAsJsonAsync($"/tenants/{tenant}/keys", new { name, role, expires_at = expiresAt });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("key").GetString()!;
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
        ["Auth:BootstrapAdminKey"] = AdminKey,
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

    /// <summary>The Api host in embedded mode: no PostgreSQL, so SQLite and an in-process worker, in its own data folder;
    /// on loopback without a bootstrap key, so open (no key needed), as the README's run command.</summary>
    internal HostProcess StartEmbedded() => HostProcess.Start("FineTuneService.Api", new Dictionary<string, string>(HostSettings)
    {
        ["ConnectionStrings:Postgres"] = "",
        ["Auth:BootstrapAdminKey"] = "",
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
