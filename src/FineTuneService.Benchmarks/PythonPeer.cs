using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>Runs <c>peer/torch_bert.py</c> on Debian's PyTorch, installing it first when it is missing; <c>FTS_PEER_PYTHON</c>
/// names another Python with torch and numpy (a GPU build, say).</summary>
public static class PythonPeer
{
    private static readonly string Python = Environment.GetEnvironmentVariable("FTS_PEER_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";
    private static readonly string PeerDir = Path.Combine(AppContext.BaseDirectory, "peer");

    /// <summary>Thread settings worth trying: on two cores PyTorch's OpenMP and OpenBLAS threads compete,
    /// so one thread each is often fastest (see shared/research/stack_probe.md).</summary>
    public static readonly (int TorchThreads, int BlasThreads)[] ThreadSettings = [(1, 1), (2, 1), (2, 2)];

    public static void EnsureInstalled()
    {
        if (File.Exists(Python) && Exec(Python, ["-c", "import torch, numpy"], null).ExitCode == 0)
        {
            return;
        }
        Console.Error.WriteLine("Installing the PyTorch peer (python3-torch, libopenblas0-pthread) with apt-get...");
        var install = Exec("sh", [Path.Combine(PeerDir, "install-peer.sh")], null);
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"installing the PyTorch peer failed: {install.Error}");
        }
    }

    public static JsonObject Run(IEnumerable<string> args, int torchThreads, int blasThreads)
    {
        var env = new Dictionary<string, string> { ["OPENBLAS_NUM_THREADS"] = blasThreads.ToString(), ["OMP_NUM_THREADS"] = torchThreads.ToString() };
        var result = Exec(Python, [Path.Combine(PeerDir, "torch_bert.py"), .. args, "--threads", torchThreads.ToString()], env);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"the PyTorch peer failed: {result.Error}");
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

    internal static (int ExitCode, string Output, string Error) Exec(string file, IEnumerable<string> args, IDictionary<string, string>? env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
