using System.Diagnostics;
using System.Text;

namespace FineTuneService.Api.Tests;

/// <summary>A real host process (<c>dotnet Host.dll</c>) on the test's database and storage, as deployed; its log is
/// kept for failure messages. Kill() is SIGKILL.</summary>
sealed class HostProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder log = new();

    HostProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static HostProcess Start(string project, IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(RepoPaths.HostDll(project));
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__")] = value;
        return new HostProcess(Process.Start(start)!);
    }

    public bool HasExited => process.HasExited;

    /// <summary>The host's process id (<c>dotnet Host.dll</c> runs the host in the process it starts).</summary>
    public int Id => process.Id;

    /// <summary>The address Kestrel bound (the hosts start on port 0), read from the "Now listening on" log line.</summary>
    public async Task<Uri> UrlAsync(TimeSpan timeout)
    {
        var log = await Poll.Until(() => Task.FromResult(Log), l => l.Contains("Now listening on") || HasExited, timeout, l => l);
        var match = System.Text.RegularExpressions.Regex.Match(log, @"Now listening on: \\""(http://[^\\""]+)");
        return match.Success ? new Uri(match.Groups[1].Value) : throw new InvalidOperationException("The host did not start:\n" + log);
    }

    public string Log { get { lock (log) return log.ToString(); } }

    void Append(string? line)
    {
        if (line is null) return;
        lock (log) log.AppendLine(line);
    }

    /// <summary>SIGKILL: no shutdown hooks, no lease release, exactly like a crashed machine.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public void Dispose()
    {
        if (!process.HasExited) Kill();
        process.Dispose();
    }
}
