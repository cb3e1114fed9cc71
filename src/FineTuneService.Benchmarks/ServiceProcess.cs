using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace FineTuneService.Benchmarks;

/// <summary>The Api host started as users start it (embedded mode: SQLite, in-memory Hangfire, in-process worker
/// and inference) in its own process, on a free loopback port, with a fresh storage root.</summary>
public sealed class ServiceProcess : IDisposable
{
    readonly Process process;

    ServiceProcess(Process process, Uri address, HttpClient http)
    {
        this.process = process;
        Address = address;
        Http = http;
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public static async Task<ServiceProcess> StartAsync(string storageRoot, int maxConnections)
    {
        var api = typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ApiAssembly").Value!;
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(api);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString());
        start.Environment["Storage__Root"] = storageRoot;
        start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        start.Environment.Remove("ConnectionStrings__Postgres");
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("  api: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromMinutes(10),
        };
        var service = new ServiceProcess(process, address, http);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the Api exited with code {process.ExitCode}");
            }
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(200);
        }
        service.Dispose();
        throw new TimeoutException("the Api did not become ready within 2 minutes");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        process.Dispose();
    }
}
