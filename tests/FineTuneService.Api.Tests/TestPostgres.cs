using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace FineTuneService.Api.Tests;

/// <summary>The PostgreSQL server of the API tests: <c>FTS_TEST_POSTGRES</c> when set, otherwise a private throwaway
/// cluster that this test run starts from Debian's <c>postgresql</c> binaries (installed when missing and the run is
/// root): its own data folder in a temporary directory, a free port on 127.0.0.1, a random password, an unprivileged OS
/// user when the run is root. It is stopped and deleted when the run ends, and a watchdog in its own session does the
/// same if the run is killed, so no server or folder outlives it.</summary>
static class TestPostgres
{
    const string ServiceUser = "postgres"; // the OS user Debian's package creates; the cluster runs as it when we are root

    static readonly Lazy<string> StartedServer = new(() =>
        Environment.GetEnvironmentVariable("FTS_TEST_POSTGRES") is { Length: > 0 } given ? given : StartCluster());

    /// <summary>A connection string to the server (no database named): each test class creates its own.</summary>
    public static string Server => StartedServer.Value;

    static string StartCluster()
    {
        var bin = FindBinaries() ?? Install();
        var root = Directory.CreateTempSubdirectory("fts-test-postgres-").FullName;
        var data = Path.Combine(root, "data");
        StartWatchdog(bin, root, data); // first: a failing initdb (a full disk) must not leave the folder behind either
        var password = RandomNumberGenerator.GetHexString(32);
        var port = FreePort();
        File.WriteAllText(Path.Combine(root, "pwfile"), password + "\n");
        if (Environment.IsPrivilegedProcess) Debian.Run("chown", "-R", $"{ServiceUser}:", root);

        RunAsService(Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", Path.Combine(root, "pwfile"),
            "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync");
        cluster = (bin, root, data, port);
        Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(bin, root, data);

        var connection = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "postgres", Password = password,
        }.ConnectionString;
        using var probe = new NpgsqlConnection(connection);
        probe.Open();
        return connection;
    }

    static (string Bin, string Root, string Data, int Port)? cluster;

    static void Start()
    {
        var (bin, root, data, port) = cluster!.Value;
        // fsync off (the machine does not crash, only the server does), but synchronous_commit on: with it off, the chaos
        // test's immediate stop lost commits the server had acknowledged (a job's metric point written just before it).
        RunAsService(Path.Combine(bin, "pg_ctl"), "-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "-o",
            $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300",
            "start");
    }

    /// <summary>Whether this run started the server itself (and so can stop and start it, as the chaos test does).</summary>
    public static bool CanRestart => Server.Length > 0 && cluster is not null;

    /// <summary>Stops the server as a crash would (immediate mode), waits <paramref name="down"/>, and starts it again.</summary>
    public static void Restart(TimeSpan down)
    {
        var (bin, _, data, _) = cluster ?? throw new InvalidOperationException("FTS_TEST_POSTGRES names a server this run did not start");
        RunAsService(Path.Combine(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop");
        Thread.Sleep(down);
        Start();
    }

    /// <summary>The newest <c>/usr/lib/postgresql/N/bin</c> with initdb and pg_ctl, or null.</summary>
    static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(dir => Path.Combine(dir, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    static string Install()
    {
        Debian.Install("postgresql", "The API tests need PostgreSQL's server binaries", "set FTS_TEST_POSTGRES to an existing server's connection string");
        return FindBinaries() ?? throw new InvalidOperationException("apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/initdb appeared");
    }

    /// <summary>A shell in its own session that outlives a killed test run: when this process is gone it stops the
    /// cluster and deletes its folder.</summary>
    static void StartWatchdog(string bin, string root, string data)
    {
        var stop = StopCommand(bin, data);
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{root}'";
        var watchdog = new ProcessStartInfo("setsid", ["sh", "-c", script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        Process.Start(watchdog)!.Dispose();
    }

    static void Stop(string bin, string root, string data)
    {
        using (var stop = Process.Start(new ProcessStartInfo("sh", ["-c", StopCommand(bin, data)]) { RedirectStandardOutput = true, RedirectStandardError = true }))
            stop?.WaitForExit(30_000);
        try { Directory.Delete(root, recursive: true); } catch (IOException) { } // the watchdog removes it too
    }

    static string StopCommand(string bin, string data)
    {
        var pgCtl = $"'{Path.Combine(bin, "pg_ctl")}' -D '{data}' -m immediate -w stop";
        return Environment.IsPrivilegedProcess ? $"runuser -u {ServiceUser} -- {pgCtl}" : pgCtl;
    }

    static void RunAsService(string program, params string[] args)
    {
        if (Environment.IsPrivilegedProcess) Debian.Run("runuser", ["-u", ServiceUser, "--", program, .. args]);
        else Debian.Run(program, args);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
