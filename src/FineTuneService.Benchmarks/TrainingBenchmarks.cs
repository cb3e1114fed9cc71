using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training;
using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;
using FineTuneService.Training.Trainer;
using TorchSharp;

namespace FineTuneService.Benchmarks;

/// <summary>Training: our Trainer against the same model and optimizer in PyTorch. Each side runs in its own process
/// so that peak RSS is its own. Inputs are written once to files both sides read.</summary>
public static class TrainingBenchmarks
{
    public const int SeqLength = 128;
    public const int BatchSize = 16;

    /// <summary>The small BERT of the MLM step (as in stack_probe.md): hidden 256, 4 layers, FFN 1024, the fixture's vocabulary.</summary>
    public static readonly BertConfig SmallBert = new()
    {
        HiddenSize = 256,
        NumHiddenLayers = 4,
        NumAttentionHeads = 4,
        IntermediateSize = 1024,
        Architectures = ["BertForMaskedLM"],
    };

    /// <summary>BERT-base's shape (hidden 768, 12 layers, FFN 3072) with the fixture's vocabulary, randomly initialised.</summary>
    public static readonly BertConfig BertBase = new() { Architectures = ["BertForMaskedLM"] };

    /// <summary>Fine-tuning steps of MiniLM (seq 128, batch 16) and MLM steps of a small BERT, on identical batches, both
    /// sides on <paramref name="device"/>, each side in its own process, alternating (A B A B A B), and MiniLM's fine-tune
    /// step in bf16 (ours: a bf16 working copy; the peer: autocast), also against our float32 step. <paramref name="all"/>
    /// (the GPU kit) adds the MLM step in bf16 and both steps in BERT-base's shape, float32 and bf16. On the CPU the peer
    /// first runs at each thread setting and the fastest is the one timed (a bf16 step at its float32 step's fastest).
    /// Refused with the reason when the peer failed its checks.</summary>
    public static IEnumerable<Comparison> Steps(Fixture fixture, string work, bool quick, torch.Device device, PeerCheck peerCheck,
        Action<(int, int)> fastestPeer, bool all = false)
    {
        var onCpu = device.type == DeviceType.CPU;
        // A GPU step takes milliseconds: more steps, and a longer warm-up for the kernels' first launches.
        int warmup = onCpu ? (quick ? 1 : 2) : 5, steps = onCpu ? (quick ? 2 : 6) : (quick ? 10 : 50);
        var tokenizer = WordPieceTokenizer.FromFolder(fixture.Dir);
        var sequences = FullLengthSequences(fixture.Texts, tokenizer, BatchSize * (warmup + steps));
        var clsFile = WriteBatches(Path.Combine(work, "cls-batches.json"), sequences, s => [.. s.Select((_, k) => (long)(k % 2))], null);
        var mlmFile = WriteBatches(Path.Combine(work, "mlm-batches.json"), sequences, null, tokenizer);

        string[] miniLm = ["--model-dir", fixture.Dir], small = ["--config", JsonSerializer.Serialize(SmallBert)],
            bertBase = ["--config", JsonSerializer.Serialize(BertBase)];
        var cases = new List<(string Name, string Task, string File, string[] Model, bool Bf16)>
        {
            ("train_step", "cls", clsFile, miniLm, false), ("mlm_step", "mlm", mlmFile, small, false), ("train_step_bf16", "cls", clsFile, miniLm, true),
        };
        if (all)
        {
            cases.AddRange([("mlm_step_bf16", "mlm", mlmFile, small, true),
                ("bert_base_train_step", "cls", clsFile, bertBase, false), ("bert_base_train_step_bf16", "cls", clsFile, bertBase, true),
                ("bert_base_mlm_step", "mlm", mlmFile, bertBase, false), ("bert_base_mlm_step_bf16", "mlm", mlmFile, bertBase, true)]);
        }
        var float32 = new Dictionary<string, Spread>();
        var threadsOf = new Dictionary<string, (int, int)>();
        foreach (var (name, task, file, modelArgs, bf16) in cases)
        {
            var (speedTarget, rssTarget) = name == "train_step" ? (">=1.5", "<=1.2") : ((string?)null, (string?)null);
            if (!peerCheck.Passed)
            {
                yield return Comparison.Refuse($"{name}_samples_per_second", "samples/s", peerCheck.Failure!, speedTarget);
                yield return Comparison.Refuse($"{name}_peak_rss_mb", "MB", peerCheck.Failure!, rssTarget);
                if (name == "train_step")
                {
                    yield return Comparison.Refuse("train_step_tokens_per_second", "tokens/s", peerCheck.Failure!);
                }
                continue;
            }
            string[] args = [.. modelArgs, "--task", task, "--batches", file, "--warmup", warmup.ToString(), "--steps", steps.ToString(),
                "--device", device.ToString(), "--precision", bf16 ? "bf16" : "fp32"];
            var fp32Name = bf16 ? name[..^"_bf16".Length] : name;
            Console.Error.WriteLine($"{name}: the PyTorch peer's fastest thread setting");
            var fastest = onCpu && !bf16 ? PythonPeer.RunFastest(["step", .. args], "samples_per_second") : null;
            var (torchThreads, blasThreads) = fastest is not null
                ? (fastest["threads"]!.GetValue<int>(), int.Parse(fastest["openblas_threads"]!.GetValue<string>()))
                : threadsOf.GetValueOrDefault(fp32Name, (Environment.ProcessorCount, 1));
            threadsOf[name] = (torchThreads, blasThreads);
            if (name == "train_step" && onCpu)
            {
                fastestPeer((torchThreads, blasThreads));
            }
            Console.Error.WriteLine($"{name}: ours and the peer (torch threads {torchThreads}, OpenBLAS threads {blasThreads}), alternating");
            JsonObject ours = new(), peer = new();
            var (oursRuns, peerRuns) = Alternating.Run(name,
                () => Figures(ours = Child.Run(["ours-step", .. args]), "samples_per_second", "peak_rss_mb"),
                () => Figures(peer = PythonPeer.Run(["step", .. args], torchThreads, blasThreads), "samples_per_second", "peak_rss_mb"));
            var (oursSettings, peerSettings) = (Settings(ours), Settings(peer));
            var detail = new JsonObject
            {
                ["peer_threads"] = torchThreads,
                ["peer_openblas_threads"] = blasThreads,
                ["steps"] = steps,
                ["device"] = device.ToString(),
            };
            yield return new Comparison($"{name}_samples_per_second", oursRuns["samples_per_second"], peerRuns["samples_per_second"],
                "samples/s", speedTarget, detail).WithSettings(oursSettings, peerSettings, Environment.ProcessorCount);
            yield return new Comparison($"{name}_peak_rss_mb", oursRuns["peak_rss_mb"], peerRuns["peak_rss_mb"], "MB", rssTarget)
                .WithSettings(oursSettings, peerSettings, Environment.ProcessorCount);
            if (!bf16)
            {
                float32[name] = oursRuns["samples_per_second"];
            }
            else if (float32.TryGetValue(fp32Name, out var ourFloat32))
            {
                // bf16 against our own float32 step (on a GPU issue 17's floor is >= 1.3); same device and batch, other precision
                yield return new Comparison($"{name}_vs_float32_samples_per_second", oursRuns["samples_per_second"], ourFloat32,
                    "samples/s", onCpu ? null : ">=1.3", new JsonObject { ["peer"] = "ours in float32", ["device"] = device.ToString() });
            }
            if (name == "train_step")
            {
                yield return new Comparison("train_step_tokens_per_second", oursRuns["samples_per_second"].Select(s => s * SeqLength),
                    peerRuns["samples_per_second"].Select(s => s * SeqLength), "tokens/s")
                    .WithSettings(oursSettings, peerSettings, Environment.ProcessorCount);
            }
        }
    }

    /// <summary>One fine-tuning epoch of MiniLM on the fixture's real, variable-length lines (batch 16, max length 128):
    /// our length-grouped dynamic padding against Hugging Face Trainer defaults (shuffled batches padded to their longest),
    /// alternating.</summary>
    public static Comparison Epoch(Fixture fixture, string work, bool quick, PeerCheck peerCheck, (int Torch, int Blas) peerThreads)
    {
        const string name = "finetune_epoch_samples_per_second", target = ">=1.5";
        if (!peerCheck.Passed)
        {
            return Comparison.Refuse(name, "samples/s", peerCheck.Failure!, target);
        }
        var tokenizer = WordPieceTokenizer.FromFolder(fixture.Dir);
        var texts = EpochTexts(fixture, quick);
        var file = WriteEpochFile(work, texts, tokenizer);
        Console.Error.WriteLine("epoch: ours and the PyTorch peer (Trainer defaults), alternating");
        string[] figures = ["samples_per_second", "seconds", "tokens_per_second", "peak_rss_mb"];
        JsonObject ours = new(), peer = new();
        var (oursRuns, peerRuns) = Alternating.Run("epoch",
            () => Figures(ours = Child.Run(["ours-epoch", "--model-dir", fixture.Dir, "--data", file]), figures),
            () => Figures(peer = PythonPeer.Run(["epoch", "--model-dir", fixture.Dir, "--data", file, "--batch-size", BatchSize.ToString()],
                peerThreads.Torch, peerThreads.Blas), figures));
        var detail = new JsonObject { ["examples"] = texts.Count };
        foreach (var figure in figures.Skip(1))
        {
            detail["ours_" + figure] = Math.Round(oursRuns[figure].Median, 3);
            detail["peer_" + figure] = Math.Round(peerRuns[figure].Median, 3);
        }
        return new Comparison(name, oursRuns["samples_per_second"], peerRuns["samples_per_second"], "samples/s", target, detail)
            .WithSettings(Settings(ours), Settings(peer), Environment.ProcessorCount);
    }

    /// <summary>The epoch's rows as both sides read them: token ids (max length 128) and the label.</summary>
    public static string WriteEpochFile(string work, IReadOnlyList<string> texts, WordPieceTokenizer tokenizer)
    {
        var file = Path.Combine(work, "epoch.jsonl");
        File.WriteAllLines(file, texts.Select(t => new JsonObject
        {
            ["input_ids"] = new JsonArray(tokenizer.Encode(t, maxLength: SeqLength).Ids.Select(id => (JsonNode)id).ToArray()),
            ["label"] = EpochLabel(t),
        }.ToJsonString()));
        return file;
    }

    /// <summary>The settings a side's process reported: device of its parameters, threads, precision, batch size.</summary>
    public static SideSettings Settings(JsonObject run) => new(run["device"]!.GetValue<string>(), Math.Max(run["threads"]!.GetValue<int>(),
        run["openblas_threads"] is { } blas && int.TryParse(blas.GetValue<string>(), out var b) ? b : 0),
        run["precision"]!.GetValue<string>(), run["batch"]!.GetValue<int>());

    /// <summary>What our side computes in on <paramref name="device"/>: fp32 or bf16, with TF32 matrix products where CUDA allows them.</summary>
    public static string Precision(torch.Device device, bool bf16 = false) =>
        (bf16 ? "bf16" : "fp32") + (device.type == DeviceType.CUDA && torch.backends.cuda.matmul.allow_tf32 ? " (tf32 matmul)" : "");

    static Dictionary<string, double> Figures(JsonObject run, params string[] keys) => keys.ToDictionary(k => k, k => Number(run, k));

    /// <summary>The epoch's examples: the fixture's first lines (real text of varied length).</summary>
    public static IReadOnlyList<string> EpochTexts(Fixture fixture, bool quick) => fixture.Texts.Take(quick ? 160 : 800).ToArray();

    /// <summary>A label the text itself decides: whether it holds a digit.</summary>
    public static int EpochLabel(string text) => text.Any(char.IsAsciiDigit) ? 1 : 0;

    /// <summary>The epoch's hyperparameters, as a job spec gives them: Hugging Face defaults but batch 16, length 128,
    /// length-grouped batches, one epoch, one checkpoint at its end.</summary>
    public static JsonObject EpochHyperparameters() => new()
    {
        ["num_train_epochs"] = 1,
        ["per_device_train_batch_size"] = BatchSize,
        ["max_seq_length"] = SeqLength,
        ["group_by_length"] = true,
        ["eval_strategy"] = "no",
        ["save_strategy"] = "epoch",
        ["logging_steps"] = 10,
    };

    /// <summary>Child process: our Trainer on the batches file; samples/s over the steps after the warm-up.</summary>
    public static JsonObject OursSteps(IReadOnlyDictionary<string, string> args)
    {
        var raw = JsonNode.Parse(File.ReadAllText(args["--batches"]))!;
        int warmup = int.Parse(args["--warmup"]), steps = int.Parse(args["--steps"]);
        var examples = raw["batches"]!.AsArray().SelectMany(b => ToExamples(b!, args["--task"])).ToArray();
        var mlm = args["--task"] == "mlm";
        using var data = new TempDir();
        using var dataset = FineTuneDataset.OpenOrCreate(System.IO.Path.Combine(data.Path, "train.bin"), () => examples,
            mlm ? LabelKind.Token : LabelKind.SingleLabel, padId: 0);
        ITaskModel model = mlm
            ? new BertForMaskedLM(JsonSerializer.Deserialize<BertConfig>(args["--config"])!)
            : args.TryGetValue("--config", out var config)
                ? new BertForSequenceClassification(WithLabels(JsonSerializer.Deserialize<BertConfig>(config)! with { Architectures = null }, raw["num_labels"]!.GetValue<int>()))
                : LoadClassifier(args["--model-dir"], numLabels: raw["num_labels"]!.GetValue<int>());
        var device = TorchDevices.Resolve(args["--device"]);
        model.Module.to(device);
        var timer = new StepTimer(warmup, warmup + steps, device);
        var trainArgs = new TrainingArguments
        {
            MaxSteps = warmup + steps,
            PerDeviceTrainBatchSize = BatchSize,
            WeightDecay = 0.01,
            LoggingSteps = 1_000_000,
            SaveStrategy = "no",
            GroupByLength = false,
            Bf16 = args["--precision"] == "bf16",
        };
        using var checkpoints = new TempDir();
        new Trainer(model, trainArgs, dataset, null, ["0", "1"], checkpoints.Path, timer, device).Train(CancellationToken.None);
        return new JsonObject
        {
            ["samples_per_second"] = steps * BatchSize / timer.Seconds,
            ["peak_rss_mb"] = PeakRssMb(),
            ["device"] = model.Module.parameters().First().device.ToString(),
            ["threads"] = torch.get_num_threads(),
            ["precision"] = Precision(device, trainArgs.Bf16),
            ["batch"] = BatchSize,
        };
    }

    /// <summary>Child process: one epoch of our Trainer (length-grouped dynamic padding) on the epoch file.</summary>
    public static JsonObject OursEpoch(IReadOnlyDictionary<string, string> args)
    {
        var rows = File.ReadLines(args["--data"]).Select(l => JsonNode.Parse(l)!).ToArray();
        var examples = rows.Select(r =>
        {
            var ids = r["input_ids"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            return new FineTuneExample(ids, new int[ids.Length], r["label"]!.GetValue<int>());
        }).ToArray();
        using var data = new TempDir();
        using var dataset = FineTuneDataset.OpenOrCreate(System.IO.Path.Combine(data.Path, "train.bin"), () => examples, LabelKind.SingleLabel, padId: 0);
        var model = LoadClassifier(args["--model-dir"], numLabels: 2);
        // The loop alone: the job's hyperparameters without its checkpoint.
        var trainArgs = TrainingArguments.Parse(EpochHyperparameters(), out _) with { SaveStrategy = "no" };
        using var checkpoints = new TempDir();
        var clock = Stopwatch.StartNew();
        new Trainer(model, trainArgs, dataset, null, ["0", "1"], checkpoints.Path, new StepTimer(0, 0, torch.CPU)).Train(CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        return new JsonObject
        {
            ["seconds"] = seconds,
            ["samples_per_second"] = examples.Length / seconds,
            ["tokens_per_second"] = examples.Sum(e => e.InputIds.Length) / seconds,
            ["peak_rss_mb"] = PeakRssMb(),
            ["device"] = "cpu",
            ["threads"] = torch.get_num_threads(),
            ["precision"] = Precision(torch.CPU),
            ["batch"] = trainArgs.PerDeviceTrainBatchSize,
        };
    }

    /// <summary>The fixture's encoder under a fresh two-label classification head.</summary>
    static ITaskModel LoadClassifier(string dir, int numLabels) =>
        ModelFolder.Load(dir, "BertForSequenceClassification", config => WithLabels(config, numLabels));

    static T WithLabels<T>(T config, int numLabels) where T : ModelConfig => config with
    {
        Id2Label = Enumerable.Range(0, numLabels).ToDictionary(i => i, i => i.ToString()),
        Label2Id = Enumerable.Range(0, numLabels).ToDictionary(i => i.ToString(), i => i),
    };

    static IEnumerable<FineTuneExample> ToExamples(JsonNode batch, string task)
    {
        var ids = batch["input_ids"]!.AsArray();
        for (int r = 0; r < ids.Count; r++)
        {
            var row = ids[r]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            yield return task == "mlm"
                ? new FineTuneExample(row, new int[row.Length], TokenLabels: batch["labels"]![r]!.AsArray().Select(n => n!.GetValue<long>()).ToArray())
                : new FineTuneExample(row, new int[row.Length], batch["labels"]![r]!.GetValue<long>());
        }
    }

    /// <summary>Real text packed into sequences of exactly <see cref="SeqLength"/> tokens: consecutive fixture lines
    /// joined until they overflow, then truncated.</summary>
    static int[][] FullLengthSequences(IReadOnlyList<string> texts, WordPieceTokenizer tokenizer, int count)
    {
        var sequences = new List<int[]>();
        for (int next = 0; sequences.Count < count;)
        {
            var joined = "";
            while (tokenizer.Encode(joined).Length < SeqLength)
            {
                joined += " " + texts[next++ % texts.Count];
            }
            sequences.Add(tokenizer.Encode(joined, maxLength: SeqLength).Ids);
        }
        return [.. sequences];
    }

    /// <summary>Batches of 16 as both sides read them. Classification labels come from <paramref name="labels"/>;
    /// for MLM (<paramref name="mlmTokenizer"/> set) 15% of the non-special tokens are masked, 80/10/10, seeded.</summary>
    static string WriteBatches(string path, int[][] sequences, Func<int[][], long[]>? labels, WordPieceTokenizer? mlmTokenizer)
    {
        var random = new Random(42);
        var batches = new JsonArray();
        foreach (var chunk in sequences.Chunk(BatchSize))
        {
            var inputs = chunk.Select(s => (int[])s.Clone()).ToArray();
            JsonArray batchLabels;
            if (mlmTokenizer is { } t)
            {
                batchLabels = [];
                foreach (var row in inputs)
                {
                    var rowLabels = new long[row.Length];
                    for (int i = 0; i < row.Length; i++)
                    {
                        bool special = row[i] == t.ClsId || row[i] == t.SepId;
                        rowLabels[i] = !special && random.NextDouble() < 0.15 ? row[i] : -100;
                        if (rowLabels[i] != -100)
                        {
                            double roll = random.NextDouble();
                            row[i] = roll < 0.8 ? t.MaskId : roll < 0.9 ? random.Next(t.VocabSize) : row[i];
                        }
                    }
                    batchLabels.Add(new JsonArray(rowLabels.Select(l => (JsonNode)l).ToArray()));
                }
            }
            else
            {
                batchLabels = new JsonArray(labels!(chunk).Select(l => (JsonNode)l).ToArray());
            }
            batches.Add(new JsonObject
            {
                ["input_ids"] = new JsonArray(inputs.Select(r => (JsonNode)new JsonArray(r.Select(id => (JsonNode)id).ToArray())).ToArray()),
                ["attention_mask"] = new JsonArray(inputs.Select(r => (JsonNode)new JsonArray(r.Select(_ => (JsonNode)1).ToArray())).ToArray()),
                ["token_type_ids"] = new JsonArray(inputs.Select(r => (JsonNode)new JsonArray(r.Select(_ => (JsonNode)0).ToArray())).ToArray()),
                ["labels"] = batchLabels,
            });
        }
        File.WriteAllText(path, new JsonObject { ["num_labels"] = 2, ["batches"] = batches }.ToJsonString());
        return path;
    }

    static double Number(JsonObject o, string key) => o[key]!.GetValue<double>();

    /// <summary>Peak resident set (VmHWM) of this process, as the peer reports ru_maxrss.</summary>
    public static double PeakRssMb() =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:"))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024).Single();

    /// <summary>Times the steps between two progress reports of the Trainer. On a GPU it waits for the queued kernels
    /// first: a step returns once its optimizer update is launched, not done.</summary>
    sealed class StepTimer(int fromStep, int toStep, torch.Device device) : ITrainingObserver
    {
        long started;

        public double Seconds { get; private set; }

        public void Progress(int step, int totalSteps, double epoch)
        {
            if (device.type == DeviceType.CUDA && (step == fromStep || step == toStep))
            {
                torch.cuda.synchronize(device);
            }
            if (step == fromStep)
            {
                started = Stopwatch.GetTimestamp();
            }
            if (step == toStep)
            {
                Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }

        public void Metrics(int step, double epoch, string split, IReadOnlyDictionary<string, double> values) { }

        public void Checkpoint(int step, string path, IReadOnlyDictionary<string, double> metrics) { }

        public void Event(string message) { }
    }
}
