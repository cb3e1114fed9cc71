using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Platform.Persistence;
using FineTuneService.Platform.Serving;
using FineTuneService.Platform.Storage;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Api.Tests;

/// <summary>Predict and tokenize through HTTP on tiny models of every task kind, registered as a job's result would be.</summary>
public class PredictTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    static readonly string[] Vocab =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "in", "park",
        "alice", "bob", "met", "paris", "is", "nice", "good", "bad", "movie", "##s", "##ed", ".", ",", "!",
    ];

    static readonly string[] Texts =
    [
        "the cat sat on the mat.", "a dog ran", "alice met bob in paris, the park is nice!", "good", "bad movie",
        "the dogs ran in the park. the cat sat.", "bob", "paris is nice", "alice and bob met", "cats",
        "the movie is good, the movie is bad, the movie is nice.", "a mat", "dog", "the park", "nice movie!", "sat",
    ];

    readonly HttpClient client = factory.CreateClient();

    /// <summary>A tiny randomly initialised model of <paramref name="architecture"/>, exported as a Hugging Face folder
    /// into the storage root and registered.</summary>
    Guid AddModel(string architecture, params string[] labels)
    {
        var config = new BertConfig
        {
            VocabSize = Vocab.Length,
            HiddenSize = 32,
            NumHiddenLayers = 2,
            NumAttentionHeads = 2,
            IntermediateSize = 64,
            MaxPositionEmbeddings = 64,
            Id2Label = labels.Length == 0 ? null : labels.Select((l, i) => (l, i)).ToDictionary(p => p.i, p => p.l),
            Label2Id = labels.Length == 0 ? null : labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
            ProblemType = labels.Length == 1 ? ModelConfig.Regression : null,
        };
        return Register(architecture, config);
    }

    Guid Register(string architecture, ModelConfig config, ITokenizer? tokenizer = null)
    {
        _ = factory.Services;
        var model = ModelFolder.Create(architecture, config with { Architectures = [architecture] }, seed: 7);
        var id = Guid.NewGuid();
        var folder = ArtifactStore.ModelFolder(id);
        ModelFolder.Export(model, Path.Combine(factory.StorageRoot, folder), tokenizer ?? new WordPieceTokenizer(Vocab));
        model.Module.Dispose();
        using var db = factory.Db();
        db.Models.Add(new Model { Id = id, TenantId = factory.TenantId, Name = architecture, Path = folder, Architecture = architecture, ModelType = config.ModelType, CreatedAt = DateTime.UtcNow });
        db.SaveChanges();
        return id;
    }

    async Task<JsonObject> Post(string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    static JsonArray Predictions(JsonObject response) => response["predictions"]!.AsArray();

    [Fact]
    public async Task Classification_answers_label_score_and_every_class_score_for_texts_and_pairs()
    {
        var id = AddModel(nameof(BertForSequenceClassification), "negative", "positive");

        var response = await Post($"/models/{id}/predict", new
        {
            inputs = new object[] { "the cat sat on the mat.", new { text = "good movie", text_pair = "bad movie" } },
        });

        Assert.Equal("sequence_classification", response["kind"]!.GetValue<string>());
        Assert.Equal(2, Predictions(response).Count);
        foreach (var prediction in Predictions(response))
        {
            var scores = prediction!["scores"]!.AsObject();
            Assert.Equal(["negative", "positive"], scores.Select(s => s.Key).Order());
            Assert.Equal(1.0, scores.Sum(s => s.Value!.GetValue<double>()), 5);
            var label = prediction["label"]!.GetValue<string>();
            Assert.Equal(scores.Max(s => s.Value!.GetValue<double>()), prediction["score"]!.GetValue<double>());
            Assert.Equal(prediction["score"]!.GetValue<double>(), scores[label]!.GetValue<double>());
        }
        var single = await Post($"/models/{id}/predict", new { inputs = "the cat sat on the mat." });
        Assert.Equal(Predictions(response)[0]!["scores"]!.ToJsonString(), Predictions(single)[0]!["scores"]!.ToJsonString());
    }

    /// <summary>The default engine: the graph is built on first load and cached beside the weights, and its answers
    /// are TorchSharp's (the reference engine) within 1e-4.</summary>
    [Fact]
    public async Task Predict_serves_through_onnx_runtime_from_a_graph_cached_beside_the_model_as_torch_would_answer()
    {
        var id = AddModel(nameof(BertForTokenClassification), "O", "B-PER", "I-PER");
        var folder = Path.Combine(factory.StorageRoot, ArtifactStore.ModelFolder(id));
        Assert.False(File.Exists(OnnxExport.PathIn(folder)));

        var served = Predictions(await Post($"/models/{id}/predict", new { inputs = Texts }));

        Assert.True(File.Exists(OnnxExport.PathIn(folder)), "the graph is cached beside the model");
        using var reference = LoadedModel.Load(folder, TorchSharp.torch.CPU, InferenceEngine.Torch);
        var expected = reference.Predict(Texts.Select(t => new PredictInput(t)).ToArray(), PredictOptions.Default);
        for (int i = 0; i < Texts.Length; i++)
        {
            var ours = served[i]!["entities"]!.AsArray();
            var theirs = PredictionJson.ToJson(expected[i])["entities"]!.AsArray();
            Assert.Equal(theirs.Select(e => e!["text"]!.ToJsonString()), ours.Select(e => e!["text"]!.ToJsonString()));
            foreach (var (a, b) in ours.Zip(theirs))
            {
                Assert.Equal(b!["score"]!.GetValue<double>(), a!["score"]!.GetValue<double>(), 1e-4);
            }
        }
        Assert.Contains(served, p => p!["entities"]!.AsArray().Count > 0);
    }

    [Fact]
    public async Task Concurrent_requests_are_merged_into_batches_and_answer_as_one_at_a_time()
    {
        var id = AddModel(nameof(BertForSequenceClassification), "negative", "positive");
        var alone = new List<double>();
        foreach (var text in Texts)
        {
            alone.Add(Predictions(await Post($"/models/{id}/predict", new { inputs = text }))[0]!["scores"]!["positive"]!.GetValue<double>());
        }
        var (batchesBefore, requestsBefore) = await BatchCounters();

        var together = await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => Texts).Select(text => Post($"/models/{id}/predict", new { inputs = text })));

        var (batchesAfter, requestsAfter) = await BatchCounters();
        for (int i = 0; i < together.Length; i++)
        {
            Assert.Equal(alone[i % Texts.Length], Predictions(together[i])[0]!["scores"]!["positive"]!.GetValue<double>(), 5);
        }
        Assert.Equal(together.Length, requestsAfter - requestsBefore);
        Assert.True(batchesAfter - batchesBefore < together.Length,
            $"{together.Length} concurrent requests ran in {batchesAfter - batchesBefore} batches: none were merged");
    }

    /// <summary>The batcher's Prometheus histogram: how many batches ran and how many requests they held.</summary>
    async Task<(double Batches, double Requests)> BatchCounters()
    {
        var metrics = await factory.Client(ApiFactory.AdminKey).GetStringAsync("/metrics"); // Auth:Metrics defaults to admin
        double Value(string name) => metrics.Split('\n').Where(l => l.StartsWith(name + " ")).Select(l => double.Parse(l[(name.Length + 1)..], CultureInfo.InvariantCulture)).SingleOrDefault();
        return (Value("fts_inference_batch_requests_count"), Value("fts_inference_batch_requests_sum"));
    }

    [Fact]
    public async Task Regression_multi_label_and_token_classification_answer_in_their_own_shapes()
    {
        var regression = AddModel(nameof(BertForSequenceClassification), "score");
        var value = Predictions(await Post($"/models/{regression}/predict", new { inputs = new[] { "good movie", "bad" } }));
        Assert.All(value, p => Assert.True(double.IsFinite(p!["value"]!.GetValue<double>())));

        var multiLabel = Register(nameof(BertForSequenceClassification), new BertConfig
        {
            VocabSize = Vocab.Length, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64, MaxPositionEmbeddings = 64,
            Id2Label = new Dictionary<int, string> { [0] = "animals", [1] = "places", [2] = "films" },
            Label2Id = new Dictionary<string, int> { ["animals"] = 0, ["places"] = 1, ["films"] = 2 },
            ProblemType = ModelConfig.MultiLabel,
        });
        var multi = await Post($"/models/{multiLabel}/predict", new { inputs = "the cat in paris" });
        Assert.Equal("multi_label_classification", multi["kind"]!.GetValue<string>());
        var scores = Predictions(multi)[0]!["scores"]!.AsObject();
        Assert.All(scores, s => Assert.InRange(s.Value!.GetValue<double>(), 0, 1));
        Assert.Equal(scores.Where(s => s.Value!.GetValue<double>() >= 0.5).Select(s => s.Key),
            Predictions(multi)[0]!["labels"]!.AsArray().Select(l => l!.GetValue<string>()));

        var tagger = AddModel(nameof(BertForTokenClassification), "O", "B-PER", "I-PER", "B-LOC", "I-LOC");
        // A tagger whose every token is B-PER (classifier weights zero, its bias picks the tag): each word is an entity.
        var weightsFile = Path.Combine(factory.StorageRoot, ArtifactStore.ModelFolder(tagger), ModelFolder.WeightsFile);
        var weights = SafeTensors.Load(weightsFile);
        weights["classifier.weight"].zero_();
        weights["classifier.bias"].copy_(TorchSharp.torch.tensor(new float[] { 0, 4, 0, 0, 0 }));
        SafeTensors.Save(weightsFile, weights);
        const string text = "Alice met Bob in Paris, the park is nice!";
        var entities = Predictions(await Post($"/models/{tagger}/predict", new { inputs = text }))[0]!["entities"]!.AsArray();
        Assert.Equal(["Alice", "met", "Bob", "in", "Paris", ",", "the", "park", "is", "nice", "!"], entities.Select(e => e!["text"]!.GetValue<string>()));
        foreach (var entity in entities)
        {
            int start = entity!["start"]!.GetValue<int>(), end = entity["end"]!.GetValue<int>();
            Assert.Equal(text[start..end], entity["text"]!.GetValue<string>());
            Assert.Equal("PER", entity["entity"]!.GetValue<string>());
            Assert.Equal(Math.Exp(4) / (Math.Exp(4) + 4), entity["score"]!.GetValue<double>(), 4);
        }
    }

    [Fact]
    public async Task Fill_mask_answers_top_k_candidates_per_mask()
    {
        var id = AddModel(nameof(BertForMaskedLM));

        var response = await Post($"/models/{id}/predict", new { inputs = "the [MASK] sat on the [MASK].", top_k = 3 });

        Assert.Equal("mlm", response["kind"]!.GetValue<string>());
        var masks = Predictions(response)[0]!["masks"]!.AsArray();
        Assert.Equal([2, 6], masks.Select(m => m!["position"]!.GetValue<int>()));
        foreach (var mask in masks)
        {
            var candidates = mask!["candidates"]!.AsArray().Select(c => c!["score"]!.GetValue<double>()).ToArray();
            Assert.Equal(3, candidates.Length);
            Assert.Equal(candidates.OrderDescending(), candidates);
        }
        var noMask = await client.PostAsJsonAsync($"/models/{id}/predict", new { inputs = new[] { "the [MASK]", "the cat" } });
        await noMask.AssertProblem(HttpStatusCode.BadRequest, "inputs[1]");
    }

    [Fact]
    public async Task Generation_is_greedy_by_default_and_seeded_sampling_reproduces_even_when_batched()
    {
        var tokenizer = BpeTrainer.Train(Texts, vocabSize: 300, minFrequency: 1);
        var id = Register("GPT2LMHeadModel", new Gpt2Config
        {
            VocabSize = tokenizer.VocabSize, NEmbd = 32, NLayer = 2, NHead = 2, NPositions = 32,
            BosTokenId = tokenizer.EosId, EosTokenId = tokenizer.EosId,
        }, tokenizer);
        const string prompt = "the cat sat";

        var greedy = await Post($"/models/{id}/predict", new { inputs = prompt, max_new_tokens = 6 });
        Assert.Equal("clm", greedy["kind"]!.GetValue<string>());
        var text = Predictions(greedy)[0]!["generated_text"]!.GetValue<string>();
        Assert.StartsWith(prompt, text);
        Assert.InRange(Predictions(greedy)[0]!["new_tokens"]!.GetValue<int>(), 0, 6);
        Assert.Equal(text, Predictions(await Post($"/models/{id}/predict", new { inputs = prompt, max_new_tokens = 6 }))[0]!["generated_text"]!.GetValue<string>());

        // 40 new tokens slide the context past n_positions (32); each seed gives its own text, the same every time.
        var sampling = new { inputs = prompt, max_new_tokens = 40, temperature = 1.5, top_k = 50, top_p = 0.95, seed = 11 };
        var first = Predictions(await Post($"/models/{id}/predict", sampling))[0]!["generated_text"]!.GetValue<string>();
        var again = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Post($"/models/{id}/predict", sampling)));
        Assert.All(again, r => Assert.Equal(first, Predictions(r)[0]!["generated_text"]!.GetValue<string>()));

        var pair = await client.PostAsJsonAsync($"/models/{id}/predict", new { inputs = new { text = "a", text_pair = "b" } });
        await pair.AssertProblem(HttpStatusCode.BadRequest, "inputs.text_pair");
        var none = await client.PostAsJsonAsync($"/models/{id}/predict", new { inputs = prompt, max_new_tokens = 0 });
        await none.AssertProblem(HttpStatusCode.BadRequest, "max_new_tokens");
    }

    [Fact]
    public async Task Tokenize_answers_ids_tokens_offsets_and_truncates_only_when_asked()
    {
        var id = AddModel(nameof(BertForSequenceClassification), "negative", "positive");
        const string text = "The cats sat on the mat in Paris.";

        var full = (await Post($"/models/{id}/tokenize", new { inputs = text }))["encodings"]![0]!;
        var tokens = full["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        Assert.Equal(["[CLS]", "the", "cat", "##s", "sat", "on", "the", "mat", "in", "paris", ".", "[SEP]"], tokens);
        Assert.Equal(new WordPieceTokenizer(Vocab).Encode(text).Ids, full["ids"]!.AsArray().Select(i => i!.GetValue<int>()));
        var offsets = full["offsets"]!.AsArray().Select(o => (o![0]!.GetValue<int>(), o[1]!.GetValue<int>())).ToArray();
        Assert.Equal("cats", text[offsets[2].Item1..offsets[3].Item2].ToLowerInvariant());

        var truncated = (await Post($"/models/{id}/tokenize", new { inputs = new[] { text }, truncation = true, max_length = 5 }))["encodings"]![0]!;
        Assert.Equal(["[CLS]", "the", "cat", "##s", "[SEP]"], truncated["tokens"]!.AsArray().Select(t => t!.GetValue<string>()));

        var pair = (await Post($"/models/{id}/tokenize", new { inputs = new { text = "good", text_pair = "bad movie" } }))["encodings"]![0]!;
        Assert.Equal([0, 0, 0, 1, 1, 1], pair["type_ids"]!.AsArray().Select(t => t!.GetValue<int>()));
    }

    [Theory]
    [InlineData("predict", "{}", "inputs")]
    [InlineData("predict", """{"inputs": []}""", "inputs")]
    [InlineData("predict", """{"inputs": 5}""", "inputs")]
    [InlineData("predict", """{"inputs": null}""", "inputs")]
    [InlineData("predict", """{"inputs": ["ok", 3]}""", "inputs[1]")]
    [InlineData("predict", """{"inputs": [{"text_pair": "x"}]}""", "inputs[0].text")]
    [InlineData("predict", """{"inputs": [{"text": "x", "text_pair": 1}]}""", "inputs[0].text_pair")]
    [InlineData("predict", """{"inputs": "x", "top_k": 0}""", "top_k")]
    [InlineData("predict", """{"inputs": "x", "top_k": "3"}""", "top_k")]
    [InlineData("predict", """{"inputs": "x", "temperature": -1}""", "temperature")]
    [InlineData("predict", """{"inputs": "x", "colour": "blue"}""", "colour")]
    [InlineData("predict", """["x"]""", "body")]
    [InlineData("predict", """{"inputs": "x""", "body")]
    [InlineData("tokenize", """{"inputs": "x", "truncation": true}""", "max_length")]
    [InlineData("tokenize", """{"inputs": "x", "max_length": 4}""", "truncation")]
    [InlineData("tokenize", """{"inputs": "x", "truncation": "sideways", "max_length": 4}""", "truncation")]
    public async Task Bad_input_is_a_problem_naming_the_field(string action, string body, string field)
    {
        var id = AddModel(nameof(BertForSequenceClassification), "negative", "positive");
        var response = await client.PostAsync($"/models/{id}/{action}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        await response.AssertProblem(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Too_many_inputs_unknown_models_and_non_json_bodies_are_problems()
    {
        var id = AddModel(nameof(BertForSequenceClassification), "negative", "positive");
        var tooMany = await client.PostAsJsonAsync($"/models/{id}/predict", new { inputs = Enumerable.Repeat("the cat", 65).ToArray() });
        await tooMany.AssertProblem(HttpStatusCode.BadRequest, "inputs");

        var unknown = await client.PostAsJsonAsync($"/models/{Guid.NewGuid()}/predict", new { inputs = "the cat" });
        await unknown.AssertProblem(HttpStatusCode.NotFound);
        var notAnId = await client.PostAsJsonAsync("/models/not-an-id/tokenize", new { inputs = "the cat" });
        await notAnId.AssertProblem(HttpStatusCode.NotFound);

        var notJson = await client.PostAsync($"/models/{id}/predict", new StringContent("inputs=x", System.Text.Encoding.UTF8, "text/plain"));
        await notJson.AssertProblem(HttpStatusCode.BadRequest, "body");
    }
}
