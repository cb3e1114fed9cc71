using System.Diagnostics;

namespace FineTuneService.Api.Tests;

/// <summary>What the tests take from Debian (PostgreSQL's server, chromium): installed with apt-get when missing and the
/// run is root, as on CI; any other run fails with one line saying what to install.</summary>
static class Debian
{
    static readonly Lock Gate = new(); // one apt-get at a time

    /// <summary>Installs <paramref name="package"/>, or throws saying how to, and what else would do (<paramref name="orElse"/>).</summary>
    public static void Install(string package, string neededFor, string orElse)
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/apt-get"))
            throw new InvalidOperationException($"{neededFor}: install Debian's package (sudo apt-get install {package}), or {orElse}.");
        lock (Gate)
        {
            Run("apt-get", "update", "-qq");
            Run("apt-get", "install", "-y", "-qq", package);
        }
    }

    /// <summary>Runs a program to its end; a non-zero exit throws with what it printed.</summary>
    public static void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {error}{output.Result}");
    }
}
