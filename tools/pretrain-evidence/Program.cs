// The pretrained-vs-scratch experiment of the README's "Pretraining" section, run through the same TrainingJobRunner
// the service's workers use:
//   1. pretrain a small BERT (masked LM) from scratch on the unlabelled corpus, with a WordPiece vocabulary trained on it,
//      then continue it with masked LM + next-sentence prediction (BERT's recipe: NSP is what trains [CLS] and the
//      pooler, which a classifier reads);
//   2. fine-tune it on each labelled set;
//   3. fine-tune the same shape, same tokenizer, from random initialisation, with the same fine-tuning budget.
// Both fine-tunes run for each learning rate of the grid, so neither start is judged at a rate that suits only the other.
// Usage: dotnet run -c Release --project tools/pretrain-evidence -- DATA_DIR WORK_DIR [MLM_STEPS] [MLM_NSP_STEPS] [LEARNING_RATES]
// DATA_DIR holds corpus.jsonl, test.csv and the labelled sets train-N.csv (see prepare_spam_assassin.py).
using FineTuneService.Training.Data;
using FineTuneService.Training.Trainer;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;

var (data, work) = (Path.GetFullPath(args[0]), Path.GetFullPath(args[1]));
var mlmSteps = args.Length > 2 ? int.Parse(args[2]) : 6000;
var nspSteps = args.Length > 3 ? int.Parse(args[3]) : 1500;
var learningRates = (args.Length > 4 ? args[4] : "1e-4,2e-4,5e-4,1e-3").Split(',').Select(double.Parse).ToArray();
Directory.CreateDirectory(work);

var shape = new JsonObject
{
    ["architecture"] = "bert", ["hidden_size"] = 128, ["num_hidden_layers"] = 4, ["num_attention_heads"] = 4,
    ["intermediate_size"] = 512, ["max_position_embeddings"] = 64,
};
var corpus = new DataFile(Path.Combine(data, "corpus.jsonl"), "jsonl");
JsonObject Pretraining(int steps, double learningRate) => new()
{
    ["max_steps"] = steps, ["learning_rate"] = learningRate, ["per_device_train_batch_size"] = 32, ["max_seq_length"] = 64,
    ["warmup_ratio"] = 0.06, ["weight_decay"] = 0.01, ["logging_steps"] = 200, ["eval_strategy"] = "steps", ["eval_steps"] = 1000,
    ["per_device_eval_batch_size"] = 64, ["save_strategy"] = "steps", ["save_steps"] = 500, ["save_total_limit"] = 1, ["seed"] = 42,
};
var mlm = Run(new TrainingJobRequest("pretrain", "pretrain", "mlm", corpus, null, 0.02, new ColumnMap(), Pretraining(mlmSteps, 1e-3),
    null, shape, new JsonObject { ["vocab_size"] = 4000, ["lowercase"] = true, ["min_frequency"] = 2 },
    Path.Combine(work, "pretrain-work"), Path.Combine(work, "pretrained")));
var pretrained = nspSteps == 0 ? mlm : Run(new TrainingJobRequest("pretrain-nsp", "pretrain", "mlm_nsp", corpus, null, 0.02, new ColumnMap(),
    Pretraining(nspSteps, 5e-4), mlm.ModelDir, null, null, Path.Combine(work, "pretrain-nsp-work"), Path.Combine(work, "pretrained-nsp")));

// The baseline: the pretrained model's shape and tokenizer, random weights.
var randomDir = Path.Combine(work, "random-init");
if (!File.Exists(Path.Combine(randomDir, ModelFolder.WeightsFile)))
{
    var config = ModelConfig.Load(Path.Combine(pretrained.ModelDir, ModelFolder.ConfigFile));
    ModelFolder.Export(ModelFolder.Create("BertForMaskedLM", config, seed: 42), randomDir, Tokenizers.LoadFromFolder(pretrained.ModelDir));
}

var fineTune = new JsonObject
{
    ["num_train_epochs"] = 8, ["per_device_train_batch_size"] = 16, ["max_seq_length"] = 64,
    ["per_device_eval_batch_size"] = 64,
    ["warmup_ratio"] = 0.1, ["weight_decay"] = 0.01, ["logging_steps"] = 13, ["save_strategy"] = "no", ["seed"] = 42,
};
JsonObject FineTune(string name, string trainFile, string baseDir, double learningRate)
{
    var hyperparameters = (JsonObject)fineTune.DeepClone();
    hyperparameters["learning_rate"] = learningRate;
    return Figures(Run(new TrainingJobRequest(name, "finetune", "sequence_classification",
        new DataFile(trainFile, "csv"), new DataFile(Path.Combine(data, "test.csv"), "csv"), null, new ColumnMap(),
        hyperparameters, baseDir, null, null, Path.Combine(work, name + "-work"), Path.Combine(work, name))));
}

var summary = new JsonObject { ["pretrain_mlm"] = Figures(mlm), ["pretrain_mlm_nsp"] = Figures(pretrained) };
var labelledSets = Directory.GetFiles(data, "train-*.csv")
    .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)["train-".Length..])).ToArray();
foreach (var trainFile in labelledSets)
{
    var labelled = Path.GetFileNameWithoutExtension(trainFile)["train-".Length..];
    foreach (var learningRate in learningRates)
    {
        foreach (var (start, baseDir) in new[] { ("pretrained", pretrained.ModelDir), ("scratch", randomDir) })
        {
            var name = $"finetune-{labelled}-{start}-lr{learningRate}";
            summary[name] = FineTune(name, trainFile, baseDir, learningRate);
            Console.WriteLine($"RESULT labelled={labelled} lr={learningRate} start={start} " +
                string.Join(" ", new[] { "eval_accuracy", "eval_f1", "eval_mcc" }.Select(k => $"{k}={summary[name]![k]}")));
        }
    }
}
File.WriteAllText(Path.Combine(work, "summary.json"), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine(summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

static JsonObject Figures(TrainingJobResult result) => new(result.FinalMetrics.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value)));

static TrainingJobResult Run(TrainingJobRequest request)
{
    var errors = TrainingJobRunner.Validate(request);
    if (errors.Count > 0)
        throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
    var clock = Stopwatch.StartNew();
    var result = TrainingJobRunner.Run(request, new ConsoleObserver(request.JobId), CancellationToken.None);
    Console.WriteLine($"[{request.JobId}] done in {clock.Elapsed.TotalMinutes:F1} min");
    return result;
}

sealed class ConsoleObserver(string job) : ITrainingObserver
{
    public void Progress(int step, int totalSteps, double epoch) { }
    public void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values) =>
        Console.WriteLine($"[{job}] {DateTime.UtcNow:HH:mm:ss} step {step} {split}: {string.Join(", ", values.Select(v => $"{v.Key}={v.Value:G4}"))}");
    public void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics) { }
    public void Event(string message) => Console.WriteLine($"[{job}] {message}");
}
