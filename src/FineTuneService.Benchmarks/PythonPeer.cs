using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>Runs <c>peer/torch_bert.py</c> on Debian's PyTorch, installing it first when it is missing; <c>FTS_PEER_PYTHON</c>
/// names another Python with torch and numpy (a GPU build, say). Every peer command runs in the environment that
/// <see cref="PeerCheck"/> chose (<see cref="Tuning"/>: the OpenBLAS kernel that measured fastest).</summary>
public static class PythonPeer
{
    public static readonly string Python = Environment.GetEnvironmentVariable("FTS_PEER_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";
    /// <summary>Whether the peer is Debian's PyTorch, which the benchmark installs (and completes) with apt-get.</summary>
    public static bool IsDebians => Python == "/usr/bin/python3";

    public static readonly string PeerDir = Path.Combine(AppContext.BaseDirectory, "peer");

    /// <summary>The Debian packages of the peer: PyTorch 1.13, numpy, and the multithreaded OpenBLAS it needs to run at
    /// its best (without it, PyTorch runs on the reference BLAS, ~30× slower).</summary>
    public static readonly string[] Packages = ["python3-torch", "python3-numpy", "libopenblas0-pthread"];

    /// <summary>Thread settings worth trying: on two cores PyTorch's OpenMP and OpenBLAS threads compete,
    /// so one thread each is often fastest (see shared/research/stack_probe.md).</summary>
    public static (int TorchThreads, int BlasThreads)[] ThreadSettings =>
        [.. new[] { (1, 1), (Environment.ProcessorCount, 1), (Environment.ProcessorCount, Environment.ProcessorCount) }.Distinct()];

    /// <summary>Variables set (or, when null, removed) in every peer command: chosen by <see cref="PeerCheck"/>.</summary>
    public static IReadOnlyDictionary<string, string?> Tuning { get; set; } = new Dictionary<string, string?>();

    public static void EnsureInstalled()
    {
        if (File.Exists(Python) && Exec(Python, ["-c", "import torch, numpy"], null).ExitCode == 0)
        {
            return;
        }
        if (!IsDebians)
        {
            throw new InvalidOperationException($"FTS_PEER_PYTHON={Python} cannot import torch and numpy");
        }
        Install(Packages);
    }

    /// <summary>apt-get install, as the benchmark runs as root on the project's machines.</summary>
    public static void Install(IReadOnlyList<string> packages)
    {
        Console.Error.WriteLine($"Installing {string.Join(", ", packages)} with apt-get...");
        var install = Exec("sh", ["-c", $"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {string.Join(' ', packages)} >/dev/null"], null);
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"installing {string.Join(", ", packages)} failed: {install.Error}");
        }
    }

    public static JsonObject Run(IEnumerable<string> args, int torchThreads, int blasThreads) =>
        Script("torch_bert.py", [.. args, "--threads", torchThreads.ToString()], blasThreads, torchThreads);

    /// <summary>Runs a script of <c>peer/</c> in the tuned environment and returns the last line it printed, as JSON.</summary>
    public static JsonObject Script(string script, IEnumerable<string> args, int blasThreads, int ompThreads, IReadOnlyDictionary<string, string?>? tuning = null)
    {
        var env = new Dictionary<string, string?>(tuning ?? Tuning)
        {
            ["OPENBLAS_NUM_THREADS"] = blasThreads.ToString(),
            ["OMP_NUM_THREADS"] = ompThreads.ToString(),
        };
        var result = Exec(Python, [Path.Combine(PeerDir, script), .. args], env);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"the PyTorch peer ({script}) failed: {result.Error}");
        }
        return JsonNode.Parse(result.Output.Trim().Split('\n')[^1])!.AsObject();
    }

    /// <summary>Runs the peer at each thread setting and keeps the fastest by <paramref name="metric"/>.</summary>
    public static JsonObject RunFastest(IReadOnlyList<string> args, string metric)
    {
        JsonObject? best = null;
        foreach (var (torchThreads, blasThreads) in ThreadSettings)
        {
            var result = Run(args, torchThreads, blasThreads);
            Console.Error.WriteLine($"  peer torch threads {torchThreads}, OpenBLAS threads {blasThreads}: {metric} {result[metric]}");
            if (best is null || result[metric]!.GetValue<double>() > best[metric]!.GetValue<double>())
            {
                best = result;
            }
        }
        return best!;
    }

    /// <summary>Runs a program; <paramref name="env"/> sets variables, or removes those whose value is null.</summary>
    internal static (int ExitCode, string Output, string Error) Exec(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in env ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
