using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Api.Tests;

/// <summary>Every family but BERT (its own tests), end to end over HTTP with a worker process: a tiny pretrained-shape
/// checkpoint of the family (with a tokenizer of the kind it ships: WordPiece, byte-level BPE, XLM-R's SentencePiece
/// Unigram) is imported, fine-tuned as sequence_classification, predicts, and its downloaded export imported again
/// predicts the very same scores.</summary>
public class FamilyFineTuneTests(SeededApiFactory factory) : IClassFixture<SeededApiFactory>
{
    static readonly string[] Probes = ["the film was really superb", "the plot was really awful"];

    /// <summary>A tiny model of <paramref name="modelType"/> under its masked or causal LM head, exported with its tokenizer.</summary>
    static string TinyFolder(string modelType)
    {
        var dir = Path.Combine(Path.GetTempPath(), "fts-tests", $"tiny-{modelType}-{Guid.NewGuid():N}");
        var lines = System.Text.Encoding.UTF8.GetString(TestData.SentimentCsv(200, seed: 9)).Split('\n').Skip(1).Select(l => l.Split(',')[0]).ToArray();
        ITokenizer tokenizer = modelType switch
        {
            "distilbert" => WordPieceTrainer.Train(lines, vocabSize: 200, lowercase: true, minFrequency: 1),
            // XLM-R's own kind: the committed SentencePiece Unigram tokenizer.json.
            "xlm-roberta" => UnigramTokenizer.FromFolder(Path.Combine(RepoPaths.Root, "tests", "fixtures", "sentencepiece")),
            _ => BpeTrainer.Train(lines, vocabSize: 320, minFrequency: 1, lowercase: false),
        };
        int vocab = tokenizer.VocabSize, pad = tokenizer.PadId;
        ModelConfig config = modelType switch
        {
            "roberta" => new RobertaConfig { VocabSize = vocab, PadTokenId = pad, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 40 + pad, TypeVocabSize = 1 },
            "xlm-roberta" => new XlmRobertaConfig { VocabSize = vocab, PadTokenId = pad, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 40 + pad, TypeVocabSize = 1 },
            "distilbert" => new DistilBertConfig { VocabSize = vocab, PadTokenId = pad, Dim = 32, NLayers = 2, NHeads = 2, HiddenDim = 64, MaxPositionEmbeddings = 40 },
            "modernbert" => new ModernBertConfig { HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 2, MaxPositionEmbeddings = 40, GlobalAttnEveryNLayers = 2, LocalAttention = 4 },
            "gpt2" => new Gpt2Config { NEmbd = 32, NLayer = 2, NHead = 4, NPositions = 40 },
            "llama" => new LlamaConfig { HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 40 },
            _ => new Qwen2Config { HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 40, TieWordEmbeddings = true },
        };
        var family = ModelCatalogue.Find(modelType)!;
        var head = TaskCatalogue.PretrainingArchitecture(family);
        var model = ModelFolder.Create(head, config.SizedFor(vocab, pad, pad), seed: 3);
        ModelFolder.Export(model, dir, tokenizer);
        model.Module.Dispose();
        return dir;
    }

    [Fact]
    public async Task Roberta_xlm_roberta_distilbert_modernbert_gpt2_llama_and_qwen2_fine_tune_predict_and_round_trip()
    {
        using var worker = factory.StartWorker();
        var api = factory.CreateClient();
        string[] families = ["roberta", "xlm-roberta", "distilbert", "modernbert", "gpt2", "llama", "qwen2"];
        var jobs = new Dictionary<string, string>();
        foreach (var modelType in families)
        {
            var folder = TinyFolder(modelType);
            var baseModel = await SeededApiFactory.Created(api.PostAsync("/models/import",
                TestData.ModelParts(folder, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray()!)));
            jobs[modelType] = await SeededApiFactory.Accepted(api.PostAsJsonAsync("/jobs", TestData.FineTuneSpec(factory.TrainDatasetId, factory.ValidationDatasetId, baseModel,
                new Dictionary<string, object?>
                {
                    ["num_train_epochs"] = 1, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 8, ["max_seq_length"] = 16,
                    ["logging_steps"] = 2, ["eval_strategy"] = "epoch", ["save_strategy"] = "no", ["seed"] = 7,
                })));
        }
        foreach (var modelType in families)
        {
            var job = await Poll.Succeeded(api, jobs[modelType], () => worker.Log);
            var metrics = (await api.GetFromJsonAsync<JsonElement>($"/jobs/{jobs[modelType]}/metrics")).GetProperty("items").EnumerateArray();
            Assert.Contains(metrics, m => m.GetProperty("name").GetString() == "eval_accuracy");
            var modelId = job.GetProperty("result_model_id").GetString()!;
            var family = ModelCatalogue.Find(modelType)!;
            var registered = await api.GetFromJsonAsync<JsonElement>($"/models/{modelId}");
            Assert.Equal(family.ArchitectureFor(ModelTask.SequenceClassification), registered.GetProperty("architecture").GetString());
            var predicted = await Predict(api, modelId);
            Assert.All(predicted, p =>
            {
                Assert.Contains(p.GetProperty("label").GetString(), new[] { "pos", "neg" });
                Assert.Equal(1.0, p.GetProperty("scores").EnumerateObject().Sum(s => s.Value.GetDouble()), 4);
            });

            // export → import: the downloaded folder, imported as a new model, predicts the same scores
            var zip = await api.GetByteArrayAsync($"/models/{modelId}/download");
            using var form = new MultipartFormDataContent { { new ByteArrayContent(zip), "files", "model.zip" } };
            var reimported = await SeededApiFactory.Created(api.PostAsync("/models/import", form));
            var again = await Predict(api, reimported.ToString());
            Assert.Equal(predicted.Select(p => p.GetProperty("scores").ToString()), again.Select(p => p.GetProperty("scores").ToString()));
        }
    }

    static async Task<List<JsonElement>> Predict(HttpClient api, string modelId)
    {
        var response = await api.PostAsJsonAsync($"/models/{modelId}/predict", new { inputs = Probes });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("predictions").EnumerateArray().ToList();
    }
}
