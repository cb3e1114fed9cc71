using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace FineTuneService.Benchmarks;

/// <summary>Runs one measurement of ours in a fresh copy of this program, so its peak RSS is its own.</summary>
public static class Child
{
    public static JsonObject Run(IEnumerable<string> args)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"child '{string.Join(' ', args)}' failed with exit code {process.ExitCode}");
        }
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
    }

    /// <summary>"--name value" pairs of a child's command line.</summary>
    public static Dictionary<string, string> Options(string[] args) =>
        Enumerable.Range(0, (args.Length - 1) / 2).ToDictionary(i => args[1 + 2 * i], i => args[2 + 2 * i]);
}
