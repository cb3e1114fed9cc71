using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Storage;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace FineTuneService.Api.Tests;

/// <summary>GET /models/{id}/download?format=onnx and POST /models/{id}/quantize through HTTP, on a tiny sentiment
/// classifier over TestData's words.</summary>
public class OnnxModelTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    static readonly string[] Texts = ["the movie was really good", "the plot felt really awful", "this show is really superb", "the acting seemed really poor"];

    /// <summary>The tiny BERT under a pos/neg classification head, its weights scaled so the labels differ, registered.</summary>
    Guid AddClassifier()
    {
        _ = factory.Services;
        var labels = new Dictionary<int, string> { [0] = "neg", [1] = "pos" };
        var model = ModelFolder.Load(TestData.TinyModel, nameof(BertForSequenceClassification),
            c => c with { Id2Label = labels, Label2Id = labels.ToDictionary(kv => kv.Value, kv => kv.Key) }, seed: 3);
        using (TorchSharp.torch.no_grad())
        {
            foreach (var (_, p) in model.Module.named_parameters()) p.mul_(3);
        }
        var id = Guid.NewGuid();
        var folder = ArtifactStore.ModelFolder(id);
        ModelFolder.Export(model, Path.Combine(factory.StorageRoot, folder), Tokenizers.LoadFromFolder(TestData.TinyModel));
        model.Module.Dispose();
        using var db = factory.Db();
        db.Models.Add(new Model { Id = id, TenantId = factory.TenantId, Name = "sentiment", Path = folder, Architecture = nameof(BertForSequenceClassification), ModelType = "bert", CreatedAt = DateTime.UtcNow });
        db.SaveChanges();
        return id;
    }

    async Task<JsonObject> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    [Fact]
    public async Task Onnx_download_holds_the_graph_config_and_tokenizer_and_runs_in_onnx_runtime_as_predict_answers()
    {
        var id = AddClassifier();

        var download = await client.GetAsync($"/models/{id}/download?format=onnx");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var dir = Directory.CreateTempSubdirectory("fts-onnx-download-").FullName;
        try
        {
            using (var zip = new ZipArchive(await download.Content.ReadAsStreamAsync()))
            {
                Assert.Equal(["config.json", "model.onnx", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"],
                    zip.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
                zip.ExtractToDirectory(dir);
            }
            // What a user does with the download: the tokenizer from its files, the graph in ONNX Runtime.
            var tokenizer = Tokenizers.LoadFromFolder(dir);
            using var session = new InferenceSession(Path.Combine(dir, "model.onnx"));
            var predicted = (await Json(await client.PostAsJsonAsync($"/models/{id}/predict", new { inputs = Texts }), HttpStatusCode.OK))["predictions"]!.AsArray();
            for (int i = 0; i < Texts.Length; i++)
            {
                var ids = tokenizer.Encode(Texts[i]).Ids.Select(t => (long)t).ToArray();
                using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
                using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, ids.Length).ToArray(), [1, ids.Length]);
                using var types = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], [1, ids.Length]);
                using var outputs = session.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [input, mask, types], ["logits"]);
                var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
                var positive = 1 / (1 + Math.Exp(logits[0] - logits[1]));
                Assert.Equal(predicted[i]!["scores"]!["pos"]!.GetValue<double>(), positive, 1e-4);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        await (await client.GetAsync($"/models/{id}/download?format=tflite")).AssertProblem(HttpStatusCode.BadRequest, "format");
    }

    [Fact]
    public async Task Quantize_makes_an_int8_model_with_lineage_measured_on_a_labelled_dataset()
    {
        var id = AddClassifier();
        using var form = new MultipartFormDataContent { { new ByteArrayContent(TestData.SentimentCsv(40, seed: 5)), "file", "sentiment.csv" } };
        var dataset = (await Json(await client.PostAsync("/datasets", form), HttpStatusCode.Created))["id"]!.GetValue<string>();

        var quantized = await Json(await client.PostAsJsonAsync($"/models/{id}/quantize", new
        {
            name = "sentiment int8",
            evaluation = new { dataset_id = dataset, columns = new { text = "text", label = "label" } },
        }), HttpStatusCode.Created);

        Assert.Equal("int8", quantized["precision"]!.GetValue<string>());
        Assert.Equal(id.ToString(), quantized["base_model_id"]!.GetValue<string>());
        Assert.Equal("sentiment int8", quantized["name"]!.GetValue<string>());
        var report = quantized["quantization"]!.AsObject();
        Assert.Equal(40, report["examples"]!.GetValue<int>());
        Assert.InRange(report["agreement"]!.GetValue<double>(), 0.9, 1.0);
        var fp32 = report["fp32_accuracy"]!.GetValue<double>();
        Assert.Equal(100 * (report["int8_accuracy"]!.GetValue<double>() - fp32), report["accuracy_delta_points"]!.GetValue<double>(), 3);
        var int8Id = quantized["id"]!.GetValue<string>();
        Assert.Equal(report.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/models/{int8Id}"))!["quantization"]!.ToJsonString());

        // The copy serves through its int8 graph, with the fp32 model's labels.
        var graph = File.ReadAllBytes(Path.Combine(factory.StorageRoot, ArtifactStore.ModelFolder(Guid.Parse(int8Id)), "onnx", "model.onnx"));
        Assert.True(System.Text.Encoding.ASCII.GetString(graph).Contains("DynamicQuantizeMatMul"), "the int8 graph quantizes its matrix products");
        var answer = await Json(await client.PostAsJsonAsync($"/models/{int8Id}/predict", new { inputs = Texts[0] }), HttpStatusCode.OK);
        Assert.Contains(answer["predictions"]![0]!["label"]!.GetValue<string>(), new[] { "pos", "neg" });

        await (await client.PostAsync($"/models/{int8Id}/quantize", null)).AssertProblem(HttpStatusCode.Conflict);
        var noColumn = await client.PostAsJsonAsync($"/models/{id}/quantize", new { evaluation = new { dataset_id = dataset, columns = new { text = "text", label = "sentiment" } } });
        await noColumn.AssertProblem(HttpStatusCode.BadRequest, "evaluation.columns.label");
        var unknown = await client.PostAsJsonAsync($"/models/{id}/quantize", new { bits = 4 });
        await unknown.AssertProblem(HttpStatusCode.BadRequest, "bits");
    }
}
