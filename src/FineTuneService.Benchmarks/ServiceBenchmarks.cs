using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FineTuneService.Benchmarks;

/// <summary>The service through real HTTP: a whole fine-tune job (upload, import, job, poll) against the training loop
/// alone, then predict throughput and latency at 1, 8 and 32 concurrent clients on the job's model against
/// ONNX Runtime serving the same model in-process, one request at a time.</summary>
public static class ServiceBenchmarks
{
    public static readonly int[] Concurrency = [1, 8, 32];

    public static async Task<List<Comparison>> RunAsync(Fixture fixture, string work, bool quick, double? loopSeconds)
    {
        var results = new List<Comparison>();
        var texts = TrainingBenchmarks.EpochTexts(fixture, quick);
        using var service = await ServiceProcess.StartAsync(Path.Combine(work, "service"), Concurrency.Max());
        var http = service.Http;

        Console.Error.WriteLine("job: upload, import, fine-tune through the API");
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
        var posted = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var created = await http.PostAsJsonAsync("/jobs", spec);
        var job = await Body(created);
        var jobId = job["id"]!.GetValue<string>();
        while (job["status"]!.GetValue<string>() is not ("succeeded" or "failed" or "cancelled"))
        {
            await Task.Delay(500);
            job = await Body(await http.GetAsync($"/jobs/{jobId}"));
        }
        var jobSeconds = clock.Elapsed.TotalSeconds;
        if (job["status"]!.GetValue<string>() != "succeeded")
        {
            throw new InvalidOperationException($"the benchmark job ended {job["status"]}: {job["error"]}");
        }
        var timeline = await Timeline(http, jobId, posted);
        Console.Error.WriteLine($"job: {jobSeconds:F2} s; seconds after the POST: {timeline.ToJsonString()}");
        if (loopSeconds is { } loop)
        {
            results.Add(new Comparison("job_wall_seconds_vs_training_loop", jobSeconds, loop, "s", "<=1.0526", new JsonObject
            {
                ["service_overhead_percent"] = Math.Round(100 * (jobSeconds - loop) / jobSeconds, 2),
                ["examples"] = texts.Count,
                ["seconds_after_post"] = timeline,
            }));
            Console.WriteLine(results[^1].ToJson());
        }

        var modelId = job["result_model_id"]!.GetValue<string>();
        var predictTexts = fixture.Texts.Skip(texts.Count).Concat(fixture.Texts).ToArray();
        using var peer = new OnnxPeer(Path.Combine(fixture.Dir, "tokenizer.json"), Environment.ProcessorCount);
        // The first request loads the model into the service's cache; loading is not serving.
        await Body(await http.PostAsJsonAsync($"/models/{modelId}/predict", new JsonObject { ["inputs"] = predictTexts[0] }));
        TimeSpan warmup = TimeSpan.FromSeconds(quick ? 1 : 2), measure = TimeSpan.FromSeconds(quick ? 3 : 10);
        foreach (var clients in Concurrency)
        {
            Console.Error.WriteLine($"predict: {clients} clients");
            var ours = await LoadGenerator.RunAsync(clients, warmup, measure, predictTexts, async text =>
            {
                using var response = await http.PostAsJsonAsync($"/models/{modelId}/predict", new JsonObject { ["inputs"] = text });
                await Body(response);
            });
            var theirs = LoadGenerator.RunOnThreads(clients, warmup, measure, predictTexts, text => peer.Predict(text));
            var detail = new JsonObject { ["ours_requests"] = ours.Requests, ["peer_requests"] = theirs.Requests };
            results.Add(new Comparison($"predict_c{clients}_sequences_per_second", ours.PerSecond, theirs.PerSecond, "sequences/s",
                clients == 32 ? ">=1.5" : null, detail));
            results.Add(new Comparison($"predict_c{clients}_p50_ms", ours.P50Ms, theirs.P50Ms, "ms"));
            results.Add(new Comparison($"predict_c{clients}_p99_ms", ours.P99Ms, theirs.P99Ms, "ms", clients == 1 ? "<=1.3" : null));
            foreach (var line in results.TakeLast(3))
            {
                Console.WriteLine(line.ToJson());
            }
        }
        return results;
    }

    /// <summary>When each of the job's events happened, in seconds after the POST, and the Trainer's own train_runtime:
    /// where the service's time goes.</summary>
    private static async Task<JsonObject> Timeline(HttpClient http, string jobId, DateTime posted)
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

    private static string Csv(IReadOnlyList<string> texts)
    {
        var csv = new StringBuilder("text,label\n");
        foreach (var text in texts)
        {
            csv.Append('"').Append(text.Replace("\"", "\"\"")).Append("\",").Append(TrainingBenchmarks.EpochLabel(text)).Append('\n');
        }
        return csv.ToString();
    }

    private static async Task<JsonObject> PostMultipartAsync(HttpClient http, string path, IEnumerable<(string Field, string FileName, byte[] Content)> files)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (field, fileName, content) in files)
        {
            form.Add(new ByteArrayContent(content), field, fileName);
        }
        return await Body(await http.PostAsync(path, form));
    }

    private static async Task<JsonObject> Body(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
        }
        return JsonNode.Parse(text)!.AsObject();
    }
}
