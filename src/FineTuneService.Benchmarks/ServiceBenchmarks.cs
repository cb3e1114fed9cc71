using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FineTuneService.Benchmarks;

/// <summary>The service through real HTTP: a whole fine-tune job (upload, import, job, poll) against the training loop
/// alone, then predict throughput and latency at 1, 8 and 32 concurrent clients on the job's model against
/// ONNX Runtime serving the same model in-process, one request at a time; then the model's int8 copy
/// (<c>POST /models/{id}/quantize</c>) at 1 and 32 clients against the same fp32 peer, and the int8 copy of a model
/// fine-tuned on real labelled mail (SpamAssassin) scored against its fp32 model on 1,000 held-out messages.</summary>
public static class ServiceBenchmarks
{
    public static readonly int[] Concurrency = [1, 8, 32];
    static readonly int[] Int8Concurrency = [1, 32];

    public static async Task<List<Comparison>> RunAsync(Fixture fixture, string work, bool quick)
    {
        var results = new List<Comparison>();
        var cores = Environment.ProcessorCount;
        var texts = TrainingBenchmarks.EpochTexts(fixture, quick);
        var loopFile = TrainingBenchmarks.WriteEpochFile(work, texts, Training.Tokenization.WordPieceTokenizer.FromFolder(fixture.Dir));
        using var service = await ServiceProcess.StartAsync(Path.Combine(work, "service"), Concurrency.Max());
        var http = service.Http;

        Console.Error.WriteLine("job: upload, import, then fine-tune through the API and the training loop alone, alternating");
        var dataset = await PostMultipartAsync(http, "/datasets", [("file", "train.csv", Encoding.UTF8.GetBytes(Csv(texts)))]);
        var files = new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json" }
            .Select(f => ("files", f, File.ReadAllBytes(Path.Combine(fixture.Dir, f))));
        var baseModel = await PostMultipartAsync(http, "/models/import", files);
        var spec = new JsonObject
        {
            ["type"] = "finetune",
            ["task"] = "sequence_classification",
            ["base_model_id"] = baseModel["id"]!.GetValue<string>(),
            ["train_dataset_id"] = dataset["id"]!.GetValue<string>(),
            ["columns"] = new JsonObject { ["text"] = "text", ["label"] = "label" },
            ["hyperparameters"] = TrainingBenchmarks.EpochHyperparameters(),
        };
        JsonObject job = new(), timeline = new(), loop = new();
        var (jobRuns, loopRuns) = await Alternating.RunAsync("job vs training loop", async () =>
        {
            (job, timeline, var seconds) = await RunJobAsync(http, spec);
            return new Dictionary<string, double> { ["seconds"] = seconds };
        }, () =>
        {
            loop = Child.Run(["ours-epoch", "--model-dir", fixture.Dir, "--data", loopFile]);
            return new Dictionary<string, double> { ["seconds"] = loop["seconds"]!.GetValue<double>() };
        });
        var (jobSeconds, loopSeconds) = (jobRuns["seconds"], loopRuns["seconds"]);
        Console.Error.WriteLine($"job: {jobSeconds} s; the last one's seconds after the POST: {timeline.ToJsonString()}");
        results.Add(new Comparison("job_wall_seconds_vs_training_loop", jobSeconds, loopSeconds, "s", "<=1.0526", new JsonObject
        {
            ["service_overhead_percent"] = Math.Round(100 * (jobSeconds.Median - loopSeconds.Median) / jobSeconds.Median, 2),
            ["examples"] = texts.Count,
            ["seconds_after_post"] = timeline,
        }).WithSettings(new SideSettings("cpu", ServiceThreads(), "fp32", TrainingBenchmarks.BatchSize, "Api job"),
            TrainingBenchmarks.Settings(loop) with { Engine = "Trainer alone" }, cores));
        Console.WriteLine(results[^1].ToJson());

        var modelId = job["result_model_id"]!.GetValue<string>();
        var predictTexts = fixture.Texts.Skip(texts.Count).Concat(fixture.Texts).ToArray();
        using var peer = new OnnxPeer(Path.Combine(fixture.Dir, "tokenizer.json"), cores);
        var serving = new Serving(http, peer, predictTexts, cores, quick);
        results.AddRange(await serving.CompareAsync(modelId, "predict", "fp32", Concurrency));
        var int8 = await Body(await http.PostAsync($"/models/{modelId}/quantize", null));
        results.AddRange(await serving.CompareAsync(int8["id"]!.GetValue<string>(), "predict_int8", "int8", Int8Concurrency));
        results.Add(await Int8AccuracyAsync(http, baseModel["id"]!.GetValue<string>(), quick));
        Console.WriteLine(results[^1].ToJson());
        return results;
    }

    /// <summary>Predict over HTTP against ONNX Runtime in-process one request at a time, one text per request on both
    /// sides (the service may batch concurrent requests), alternating rounds.</summary>
    sealed class Serving(HttpClient http, OnnxPeer peer, string[] texts, int cores, bool quick)
    {
        readonly TimeSpan warmup = TimeSpan.FromSeconds(quick ? 1 : 2), measure = TimeSpan.FromSeconds(quick ? 3 : 10);
        readonly SideSettings peerSettings = new("cpu", cores, "fp32", 1, "ONNX Runtime in-process, one request at a time") { Wait = OnnxPeer.Wait };

        /// <summary>Floors from issue 13: p50 and p99 at 1 client within 1.3× the peer's single request (fp32); at 32
        /// clients 1.2× its one-at-a-time throughput in fp32 and 2× in int8. An int8 model is compared with the fp32
        /// peer on purpose (that is the floor), so only its threads and batch are held equal.</summary>
        public async Task<List<Comparison>> CompareAsync(string modelId, string prefix, string precision, int[] concurrency)
        {
            // The first request loads the model (and builds its graph); loading is not serving.
            await Body(await http.PostAsJsonAsync($"/models/{modelId}/predict", new JsonObject { ["inputs"] = texts[0] }));
            var oursSettings = new SideSettings("cpu", ServiceThreads(), precision, 1, "FineTuneService over HTTP (ONNX Runtime)") { Wait = OnnxPeer.Wait };
            var results = new List<Comparison>();
            foreach (var clients in concurrency)
            {
                Console.Error.WriteLine($"{prefix}: {clients} clients");
                var (ours, theirs) = await Alternating.RunAsync($"{prefix} c{clients}", async () => Figures(await LoadGenerator.RunAsync(clients, warmup,
                    measure, texts, async text =>
                    {
                        using var response = await http.PostAsJsonAsync($"/models/{modelId}/predict", new JsonObject { ["inputs"] = text });
                        await Body(response);
                    })), () => Figures(LoadGenerator.RunOnThreads(clients, warmup, measure, texts, text => peer.Predict(text))));
                var detail = new JsonObject { ["ours_requests"] = ours["requests"].Median, ["peer_requests"] = theirs["requests"].Median };
                string? throughputFloor = clients == 32 ? precision == "int8" ? ">=2" : ">=1.2" : null;
                string? latencyCeiling = clients == 1 && precision == "fp32" ? "<=1.3" : null;
                Comparison Settled(Comparison c) => (c with { OursSettings = oursSettings, PeerSettings = peerSettings })
                    .RefusedIf(SideSettings.Mismatch(oursSettings with { Precision = peerSettings.Precision }, peerSettings, cores));
                results.Add(Settled(new Comparison($"{prefix}_c{clients}_sequences_per_second", ours["per_second"], theirs["per_second"], "sequences/s",
                    throughputFloor, detail)));
                results.Add(Settled(new Comparison($"{prefix}_c{clients}_p50_ms", ours["p50_ms"], theirs["p50_ms"], "ms", latencyCeiling)));
                results.Add(Settled(new Comparison($"{prefix}_c{clients}_p99_ms", ours["p99_ms"], theirs["p99_ms"], "ms", latencyCeiling)));
                foreach (var line in results.TakeLast(3))
                {
                    Console.WriteLine(line.ToJson());
                }
            }
            return results;
        }
    }

    /// <summary>Fine-tunes the imported MiniLM on 800 SpamAssassin messages (half spam; 200 with --quick) through the API,
    /// quantizes the result with the service's own evaluation on the 1,000 held-out messages (200), and compares
    /// int8 accuracy with fp32 accuracy: the floor is 0.5 points, written as a ratio of the two.</summary>
    static async Task<Comparison> Int8AccuracyAsync(HttpClient http, string baseModelId, bool quick)
    {
        var data = SpamAssassin.Prepare();
        var train = File.ReadAllBytes(Path.Combine(data, quick ? "train-200.csv" : "train-800.csv"));
        var trainSet = await PostMultipartAsync(http, "/datasets", [("file", "spam-train.csv", train)]);
        var testSet = await PostMultipartAsync(http, "/datasets", [("file", "spam-test.csv", File.ReadAllBytes(Path.Combine(data, "test.csv")))]);
        Console.Error.WriteLine("int8 accuracy: fine-tune MiniLM on SpamAssassin through the API");
        var (job, _, seconds) = await RunJobAsync(http, new JsonObject
        {
            ["type"] = "finetune",
            ["task"] = "sequence_classification",
            ["base_model_id"] = baseModelId,
            ["train_dataset_id"] = trainSet["id"]!.GetValue<string>(),
            ["columns"] = new JsonObject { ["text"] = "text", ["label"] = "label" },
            ["hyperparameters"] = new JsonObject
            {
                ["num_train_epochs"] = 1, ["learning_rate"] = 5e-5, ["per_device_train_batch_size"] = 16, ["weight_decay"] = 0.01,
                ["max_seq_length"] = 128, ["eval_strategy"] = "no", ["save_strategy"] = "no", ["logging_steps"] = 10, ["seed"] = 42,
            },
        });
        Console.Error.WriteLine($"int8 accuracy: fine-tuned in {seconds:F0} s; quantize and score both on the held-out messages");
        var quantized = await Body(await http.PostAsJsonAsync($"/models/{job["result_model_id"]}/quantize", new JsonObject
        {
            ["evaluation"] = new JsonObject
            {
                ["dataset_id"] = testSet["id"]!.GetValue<string>(),
                ["columns"] = new JsonObject { ["text"] = "text", ["label"] = "label" },
                ["max_rows"] = quick ? 200 : 1000,
            },
        }));
        var report = quantized["quantization"]!.AsObject();
        double fp32 = 100 * report["fp32_accuracy"]!.GetValue<double>(), int8 = 100 * report["int8_accuracy"]!.GetValue<double>();
        return new Comparison("int8_accuracy_percent_vs_fp32", Spread.Of(int8), Spread.Of(fp32), "% of held-out messages right",
            $">={(fp32 - 0.5) / fp32:F4}", new JsonObject
            {
                ["floor"] = "int8 accuracy within 0.5 points of fp32",
                ["report"] = report.DeepClone(),
                ["int8_model_id"] = quantized["id"]!.DeepClone(),
                ["train_examples"] = trainSet["num_rows"]!.DeepClone(),
            });
    }

    /// <summary>The Api's libtorch threads: those its environment gives (inherited from ours), else every core.</summary>
    static int ServiceThreads() =>
        int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out var threads) ? threads : Environment.ProcessorCount;

    static IReadOnlyDictionary<string, double> Figures(LoadResult load) => new Dictionary<string, double>
    {
        ["per_second"] = load.PerSecond,
        ["p50_ms"] = load.P50Ms,
        ["p99_ms"] = load.P99Ms,
        ["requests"] = load.Requests,
    };

    /// <summary>POSTs the job and polls it to the end: the job, its event timeline, and its wall time from the POST.</summary>
    static async Task<(JsonObject Job, JsonObject Timeline, double Seconds)> RunJobAsync(HttpClient http, JsonObject spec)
    {
        var posted = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var job = await Body(await http.PostAsJsonAsync("/jobs", spec));
        var jobId = job["id"]!.GetValue<string>();
        while (job["status"]!.GetValue<string>() is not ("succeeded" or "failed" or "cancelled"))
        {
            await Task.Delay(500);
            job = await Body(await http.GetAsync($"/jobs/{jobId}"));
        }
        var seconds = clock.Elapsed.TotalSeconds;
        if (job["status"]!.GetValue<string>() != "succeeded")
        {
            throw new InvalidOperationException($"the benchmark job ended {job["status"]}: {job["error"]}");
        }
        return (job, await Timeline(http, jobId, posted), seconds);
    }

    /// <summary>When each of the job's events happened, in seconds after the POST, and the Trainer's own train_runtime:
    /// where the service's time goes.</summary>
    static async Task<JsonObject> Timeline(HttpClient http, string jobId, DateTime posted)
    {
        var timeline = new JsonObject();
        foreach (var e in (await Body(await http.GetAsync($"/jobs/{jobId}/events")))["items"]!.AsArray())
        {
            var message = e!["message"]!.GetValue<string>();
            var key = message[..Math.Min(message.Length, 24)];
            timeline[key] = Math.Round((e["created_at"]!.GetValue<DateTime>() - posted).TotalSeconds, 2);
            if (Regex.Match(message, @"train_runtime=([\d.]+)") is { Success: true } runtime)
            {
                timeline["train_runtime"] = double.Parse(runtime.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }
        return timeline;
    }

    static string Csv(IReadOnlyList<string> texts)
    {
        var csv = new StringBuilder("text,label\n");
        foreach (var text in texts)
        {
            csv.Append('"').Append(text.Replace("\"", "\"\"")).Append("\",").Append(TrainingBenchmarks.EpochLabel(text)).Append('\n');
        }
        return csv.ToString();
    }

    static async Task<JsonObject> PostMultipartAsync(HttpClient http, string path, IEnumerable<(string Field, string FileName, byte[] Content)> files)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (field, fileName, content) in files)
        {
            form.Add(new ByteArrayContent(content), field, fileName);
        }
        return await Body(await http.PostAsync(path, form));
    }

    static async Task<JsonObject> Body(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
        }
        return JsonNode.Parse(text)!.AsObject();
    }
}
