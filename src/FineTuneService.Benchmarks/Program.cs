using FineTuneService.Benchmarks;
using FineTuneService.Training;

// dotnet run -c Release --project src/FineTuneService.Benchmarks -- all [--quick]
// Commands: all | tokenize | forward | peer | train | epoch | service; ours-step and ours-epoch are the child processes of train and epoch.
// train [--device cpu|cuda|cuda:<index>|auto] [--all-steps]: the training steps of both sides on that device (default cpu);
// --all-steps adds the MLM step in bf16 and both steps in BERT-base's shape, float32 and bf16 (the GPU kit's run).
// peer: the PyTorch peer's checks alone (train and epoch run them first).
// On stdout: the machine's fingerprint, then one JSON line per comparison: {"name","ours","ours_min","ours_max","peer",…,
// "runs","unit","ratio"} (medians of alternating runs; + target, meets, settings, detail; a refused one: "meets": false,
// "reason", no ratio), last the load average at the end. Progress on stderr.
var command = args.FirstOrDefault() ?? "all";
if (command is "ours-step" or "ours-epoch")
{
    var options = Child.Options(args);
    var result = command == "ours-step" ? TrainingBenchmarks.OursSteps(options) : TrainingBenchmarks.OursEpoch(options);
    Console.WriteLine(result.ToJsonString());
    return;
}

var quick = args.Contains("--quick");
var deviceAt = Array.IndexOf(args, "--device");
var deviceSpec = deviceAt >= 0 && deviceAt + 1 < args.Length ? args[deviceAt + 1] : "cpu";
if (!TorchDevices.IsValid(deviceSpec))
{
    Console.Error.WriteLine($"--device: '{deviceSpec}' is not a device; use auto, cpu, cuda or cuda:<index>.");
    Environment.Exit(2);
}
var device = TorchDevices.Resolve(deviceSpec);
var fixture = Fixture.Find();
using var work = new TempDir();
Console.WriteLine(Fingerprint.Collect().ToJsonString(Comparison.Json));
void Print(Comparison comparison) => Console.WriteLine(comparison.ToJson());

if (command is "all" or "tokenize")
{
    foreach (var comparison in TokenizerBenchmark.Run(fixture, work.Path, quick ? 2 : 10))
    {
        Print(comparison);
    }
}
if (command is "all" or "forward")
{
    foreach (var comparison in ForwardBenchmark.Run(fixture, work.Path, quick))
    {
        Print(comparison);
    }
}
(int Torch, int Blas) peerThreads = PythonPeer.ThreadSettings[0];
PeerCheck? peerCheck = null;
if (command is "all" or "peer" or "train" or "epoch")
{
    Console.Error.WriteLine("peer: the PyTorch peer's BLAS, kernel, matrix product and outputs");
    peerCheck = PeerCheck.Run(fixture.Dir, PeerCheck.ReferenceOutputs(work.Path), command is "train" ? device : TorchSharp.torch.CPU);
    Console.WriteLine(peerCheck.Report.ToJsonString(Comparison.Json));
}
if (command is "all" or "train")
{
    foreach (var comparison in TrainingBenchmarks.Steps(fixture, work.Path, quick, device, peerCheck!, fastest => peerThreads = fastest, args.Contains("--all-steps")))
    {
        Print(comparison);
    }
}
if (command is "all" or "epoch")
{
    Print(TrainingBenchmarks.Epoch(fixture, work.Path, quick, peerCheck!, peerThreads));
}
if (command is "all" or "service")
{
    await ServiceBenchmarks.RunAsync(fixture, work.Path, quick);
}
Console.WriteLine(new System.Text.Json.Nodes.JsonObject
{
    ["name"] = "end", ["utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    ["load_average"] = Fingerprint.LoadAverage()
}.ToJsonString());
