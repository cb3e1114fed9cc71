// Issue 17's quality comparison: our fine-tune job (TrainingJobRunner, as a worker runs it) against the benchmark's
// PyTorch peer (src/FineTuneService.Benchmarks/peer/torch_bert.py finetune) on the same tokens with the same recipe
// (lr 2e-5, batch 16, 3 epochs, weight decay 0.01, max length 128, linear decay, clip 1.0), one run per seed and side;
// prints each run and the mean and spread of test accuracy per side.
// Usage: dotnet run -c Release --project tools/quality-parity -- MODEL_DIR TRAIN_CSV TEST_CSV WORK_DIR [SEEDS] [TEST_ROWS] [SIDES] [MAX_LENGTH]
//   SIDES (comma-separated, default ours,peer): ours (group_by_length false: the peer's random batches), ours-grouped
//   (our default, length-grouped), ours-bf16 (as ours, with bf16), peer (Hugging Face's classifier init),
//   peer-torch-init (nn.Linear's default init).
// Threads: OMP_NUM_THREADS for ours, the same number for the peer (default 1).
using FineTuneService.Training.Trainer;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Tokenization;

var (modelDir, trainCsv, testCsv, work) = (Path.GetFullPath(args[0]), Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), Path.GetFullPath(args[3]));
var seeds = (args.Length > 4 ? args[4] : "42,1,2").Split(',').Select(int.Parse).ToArray();
var testRows = args.Length > 5 ? int.Parse(args[5]) : int.MaxValue;
var sides = (args.Length > 6 ? args[6] : "ours,peer").Split(',');
var threads = Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "1";
Environment.SetEnvironmentVariable("OMP_NUM_THREADS", threads);
var maxLength = args.Length > 7 ? int.Parse(args[7]) : 128;
const int Epochs = 3, BatchSize = 16;
const double LearningRate = 2e-5, WeightDecay = 0.01;
Directory.CreateDirectory(work);

// The same test rows and the same token ids for both sides.
var columns = new ColumnMap();
var train = TabularData.ReadRows(trainCsv, "csv").ToList();
var test = TabularData.ReadRows(testCsv, "csv").Take(testRows).ToList();
var testFile = Path.Combine(work, "test.csv");
File.WriteAllLines(testFile, test.Select(r => Csv(r["text"]) + "," + Csv(r["label"])).Prepend("text,label"));
var labels = FineTuneExamples.Labels(train, columns, LabelKind.SingleLabel);
var tokenizer = WordPieceTokenizer.FromFolder(modelDir);
string Tokenized(string name, List<IReadOnlyDictionary<string, string>> rows)
{
    var path = Path.Combine(work, name);
    File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(new
    {
        input_ids = tokenizer.Encode(r["text"], null, maxLength).Ids,
        label = Array.IndexOf(labels, r["label"].Trim()),
    })));
    return path;
}
var (trainJsonl, testJsonl) = (Tokenized("train.jsonl", train), Tokenized("test.jsonl", test));
Console.WriteLine($"{train.Count} training rows, {test.Count} test rows, labels {string.Join(", ", labels)}, max length {maxLength}; {threads} thread(s)");

var repository = new DirectoryInfo(AppContext.BaseDirectory);
while (!File.Exists(Path.Combine(repository.FullName, "FineTuneService.sln"))) repository = repository.Parent!;
var peer = Path.Combine(repository.FullName, "src", "FineTuneService.Benchmarks", "peer", "torch_bert.py");

var results = new JsonObject();
foreach (var seed in seeds)
    foreach (var side in sides)
    {
        var clock = Stopwatch.StartNew();
        var accuracy = side switch
        {
            "ours" or "ours-grouped" or "ours-bf16" => Ours(seed, side == "ours-grouped", side == "ours-bf16"),
            "peer" or "peer-torch-init" => Peer(seed, side == "peer" ? "hf" : "torch"),
            _ => throw new ArgumentException($"unknown side '{side}'"),
        };
        ((results[side] ??= new JsonObject()).AsObject())[seed.ToString(CultureInfo.InvariantCulture)] = accuracy;
        Console.WriteLine($"RESULT side={side} seed={seed} accuracy={accuracy:F4} seconds={clock.Elapsed.TotalSeconds:F0}");
    }
foreach (var (side, runs) in results)
{
    var values = runs!.AsObject().Select(r => (double)r.Value!).ToArray();
    var mean = values.Average();
    var sd = values.Length > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)) : 0;
    Console.WriteLine($"SUMMARY side={side} runs={values.Length} mean={mean:F4} sd={sd:F4} min={values.Min():F4} max={values.Max():F4}");
}
File.WriteAllText(Path.Combine(work, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

double Ours(int seed, bool grouped, bool bf16)
{
    var name = $"ours-{(grouped ? "grouped-" : bf16 ? "bf16-" : "")}{seed}";
    var hyperparameters = new JsonObject
    {
        ["num_train_epochs"] = Epochs, ["learning_rate"] = LearningRate, ["per_device_train_batch_size"] = BatchSize,
        ["per_device_eval_batch_size"] = 64, ["weight_decay"] = WeightDecay, ["max_seq_length"] = maxLength,
        ["group_by_length"] = grouped, ["bf16"] = bf16, ["seed"] = seed, ["logging_steps"] = 25, ["save_strategy"] = "no",
    };
    var request = new TrainingJobRequest(name, "finetune", "sequence_classification", new DataFile(trainCsv, "csv"),
        new DataFile(testFile, "csv"), null, columns, hyperparameters, modelDir, null, null,
        Path.Combine(work, name + "-work"), Path.Combine(work, name));
    var errors = TrainingJobRunner.Validate(request);
    if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
    return TrainingJobRunner.Run(request, new SilentObserver(), CancellationToken.None).FinalMetrics["eval_accuracy"];
}

double Peer(int seed, string headInit)
{
    var python = Environment.GetEnvironmentVariable("FTS_PEER_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
    var info = new ProcessStartInfo(python) { RedirectStandardOutput = true };
    foreach (var a in new[] { peer, "finetune", "--model-dir", modelDir, "--data", trainJsonl, "--test", testJsonl,
                 "--epochs", $"{Epochs}", "--lr", $"{LearningRate}", "--weight-decay", $"{WeightDecay}", "--batch-size", $"{BatchSize}",
                 "--seed", $"{seed}", "--head-init", headInit, "--threads", threads })
        info.ArgumentList.Add(a);
    using var process = Process.Start(info)!;
    var output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"the peer exited with {process.ExitCode}");
    return (double)JsonNode.Parse(output)!["accuracy"]!;
}

static string Csv(string value) => "\"" + value.Replace("\"", "\"\"") + "\"";

sealed class SilentObserver : ITrainingObserver
{
    public void Progress(int step, int totalSteps, double epoch) { }
    public void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values) { }
    public void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics) { }
    public void Event(string message) { }
}
