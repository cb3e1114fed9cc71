using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

public sealed class ModelFolderTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("fts-modelfolder-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Batch TinyBatch(long seed = 1)
    {
        var g = new Generator((ulong)seed);
        var ids = randint(1, 99, [3, 9], generator: g);
        var mask = ones_like(ids);
        mask[2].narrow(0, 6, 3).fill_(0);
        return new Batch(ids, mask, zeros_like(ids));
    }

    static Tensor Logits(ITaskModel model, Batch batch)
    {
        model.Module.eval();
        using var noGrad = no_grad();
        return model.Forward(batch).Logits;
    }

    static void AssertSameTensors(Tensor expected, Tensor actual) =>
        Assert.True(expected.shape.SequenceEqual(actual.shape) && expected.eq(actual).all().item<bool>(), "tensors differ");

    [Theory]
    [InlineData(nameof(BertForSequenceClassification))]
    [InlineData(nameof(BertForTokenClassification))]
    [InlineData(nameof(BertForMaskedLM))]
    [InlineData(nameof(BertForPreTraining))]
    [InlineData("GPT2LMHeadModel")]
    public void ExportThenImportGivesIdenticalLogits(string architecture)
    {
        ModelConfig config = architecture == "GPT2LMHeadModel" ? GoldenKeyTests.TinyGpt2 : GoldenKeyTests.TinyBert with { ProblemType = ModelConfig.SingleLabel };
        using var batch = TinyBatch();
        var model = ModelFolder.Create(architecture, config, seed: 7);
        var before = Logits(model, batch);

        ModelFolder.Export(model, dir, trainingArgs: new JsonObject { ["learning_rate"] = 2e-5, ["seed"] = 7 });
        var loaded = ModelFolder.Load(dir);

        Assert.Equal(architecture, loaded.Architecture);
        AssertSameTensors(before, Logits(loaded, batch));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFolder.ConfigFile)))!;
        Assert.Equal(architecture, json["architectures"]![0]!.GetValue<string>());
        Assert.Equal(config.ModelType, json["model_type"]!.GetValue<string>());
        Assert.Equal(2e-5, JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFolder.TrainingArgsFile)))!["learning_rate"]!.GetValue<double>());
        Assert.Equal("pt", SafeTensors.ReadMetadata(Path.Combine(dir, ModelFolder.WeightsFile))["format"]);
    }

    [Fact]
    public void ExportWritesLabelsProblemTypeAndTokenizer()
    {
        var config = GoldenKeyTests.TinyBert with { ProblemType = ModelConfig.MultiLabel };
        var model = new BertForSequenceClassification(config);
        ModelFolder.Export(model, dir, WordPieceTokenizer.FromFolder(Fixtures.MiniLm));

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFolder.ConfigFile)))!;
        Assert.Equal("pos", json["id2label"]!["2"]!.GetValue<string>());
        Assert.Equal(1, json["label2id"]!["neu"]!.GetValue<int>());
        Assert.Equal(ModelConfig.MultiLabel, json["problem_type"]!.GetValue<string>());
        Assert.Equal(32, json["hidden_size"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(dir, "vocab.txt")));
        var reloaded = (BertConfig)ModelConfig.Load(Path.Combine(dir, ModelFolder.ConfigFile));
        Assert.Equal(config.Id2Label, reloaded.Id2Label);
        Assert.Equal(ModelConfig.MultiLabel, reloaded.ProblemType);
    }

    [Fact]
    public void BaseCheckpointLoadsUnderTheBertPrefixWithAFreshClassifier()
    {
        var model = ModelFolder.Load(Fixtures.MiniLm, nameof(BertForSequenceClassification),
            c => c with { Id2Label = new Dictionary<int, string> { [0] = "ham", [1] = "spam" }, ProblemType = ModelConfig.SingleLabel });

        var file = SafeTensors.Load(Path.Combine(Fixtures.MiniLm, ModelFolder.WeightsFile));
        var state = model.Module.state_dict();
        foreach (var (name, tensor) in file)
        {
            AssertSameTensors(tensor, state["bert." + name]);
        }
        Assert.Equal([2L, 384L], state["classifier.weight"].shape);
        Assert.InRange(state["classifier.weight"].std().item<float>(), 0.015, 0.025); // N(0, 0.02)
        Assert.Equal(0f, state["classifier.bias"].abs().sum().item<float>());
        // The fixture's config comes along, with the new labels.
        Assert.Equal(384, ((BertConfig)model.Config).HiddenSize);
        Assert.Equal("spam", model.Config.Id2Label![1]);
    }

    [Fact]
    public void PretrainingCheckpointFineTunesWithoutItsHeads()
    {
        var pretrained = new BertForPreTraining(GoldenKeyTests.TinyBert, seed: 3);
        ModelFolder.Export(pretrained, dir);

        var fineTune = ModelFolder.Load(dir, nameof(BertForTokenClassification), seed: 5);

        var source = pretrained.Module.state_dict();
        var target = fineTune.Module.state_dict();
        Assert.DoesNotContain(target.Keys, k => k.StartsWith("cls.") || k.StartsWith("bert.pooler."));
        foreach (var name in target.Keys.Where(k => k.StartsWith("bert.")))
        {
            AssertSameTensors(source[name], target[name]);
        }
    }

    [Fact]
    public void ClassifierGivenNewLabelsGetsAFreshHeadAndKeepsItsEncoder()
    {
        var sentiment = new BertForSequenceClassification(GoldenKeyTests.TinyBert, seed: 3);
        ModelFolder.Export(sentiment, dir);

        var spam = ModelFolder.Load(dir, nameof(BertForSequenceClassification),
            c => c with { Id2Label = new Dictionary<int, string> { [0] = "ham", [1] = "spam" }, Label2Id = null }, seed: 8);

        var source = sentiment.Module.state_dict();
        var target = spam.Module.state_dict();
        Assert.Equal([2L, 32L], target["classifier.weight"].shape);
        AssertSameTensors(source["bert.encoder.layer.1.output.dense.weight"], target["bert.encoder.layer.1.output.dense.weight"]);
        // New names for as many labels: still a fresh classifier.
        var renamed = ModelFolder.Load(dir, nameof(BertForSequenceClassification),
            c => c with { Id2Label = new Dictionary<int, string> { [0] = "a", [1] = "b", [2] = "c" }, Label2Id = null }, seed: 8);
        Assert.False(source["classifier.weight"].eq(renamed.Module.state_dict()["classifier.weight"]).all().item<bool>());
        // Same labels: the trained classifier itself comes back.
        AssertSameTensors(source["classifier.weight"], ModelFolder.Load(dir, nameof(BertForSequenceClassification)).Module.state_dict()["classifier.weight"]);
    }

    void WriteTinyBertModel(Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
    {
        var bert = new BertModel(GoldenKeyTests.TinyBert, seed: 11);
        GoldenKeyTests.TinyBert.Save(Path.Combine(dir, ModelFolder.ConfigFile));
        SafeTensors.Save(Path.Combine(dir, ModelFolder.WeightsFile), edit(bert.state_dict()));
    }

    [Fact]
    public void UnexpectedKeyIsAnErrorNamingTheKey()
    {
        WriteTinyBertModel(w => new(w) { ["encoder.layer.0.attention.self.rotary.weight"] = ones(4) });
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir, nameof(BertForSequenceClassification)));
        Assert.Contains("unexpected keys (1): bert.encoder.layer.0.attention.self.rotary.weight", e.Message);
    }

    [Fact]
    public void MissingEncoderKeyIsAnError()
    {
        WriteTinyBertModel(w => w.Where(kv => kv.Key != "encoder.layer.1.output.dense.weight").ToDictionary());
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir, nameof(BertForSequenceClassification)));
        Assert.Contains("missing keys (1): bert.encoder.layer.1.output.dense.weight", e.Message);
    }

    [Fact]
    public void MissingHeadOfTheSameArchitectureIsAnError()
    {
        ModelFolder.Export(new BertForSequenceClassification(GoldenKeyTests.TinyBert), dir);
        var weights = SafeTensors.Load(Path.Combine(dir, ModelFolder.WeightsFile));
        weights.Remove("classifier.bias");
        SafeTensors.Save(Path.Combine(dir, ModelFolder.WeightsFile), weights);
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir));
        Assert.Contains("classifier.bias", e.Message);
    }

    [Fact]
    public void AllowListedKeysAreIgnored()
    {
        WriteTinyBertModel(w => new(w)
        {
            ["embeddings.position_ids"] = arange(64, dtype: ScalarType.Int64).unsqueeze(0),
            ["cls.predictions.decoder.weight"] = w["embeddings.word_embeddings.weight"],
            ["cls.seq_relationship.weight"] = zeros(2, 32),
        });
        var model = ModelFolder.Load(dir, nameof(BertForTokenClassification)); // no pooler: bert.pooler.* is ignored too
        Assert.DoesNotContain(model.Module.state_dict().Keys, k => k.Contains("pooler"));
    }

    [Fact]
    public void LegacyGammaBetaMapToWeightBias()
    {
        Dictionary<string, Tensor>? original = null;
        WriteTinyBertModel(w =>
        {
            original = w.ToDictionary(kv => kv.Key, kv => kv.Value.clone()); // the module behind w may be collected
            return w.ToDictionary(
                kv => kv.Key.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"),
                kv => kv.Key.Contains("LayerNorm") ? kv.Value + 0.5 : kv.Value);
        });
        Assert.Contains("embeddings.LayerNorm.gamma", SafeTensors.Load(Path.Combine(dir, ModelFolder.WeightsFile)).Keys);

        var model = ModelFolder.Load(dir, nameof(BertForSequenceClassification));

        var state = model.Module.state_dict();
        AssertSameTensors(original!["encoder.layer.1.output.LayerNorm.weight"] + 0.5, state["bert.encoder.layer.1.output.LayerNorm.weight"]);
        AssertSameTensors(original["embeddings.LayerNorm.bias"] + 0.5, state["bert.embeddings.LayerNorm.bias"]);
    }

    [Fact]
    public void GammaBesideWeightIsAnError()
    {
        WriteTinyBertModel(w => new(w) { ["embeddings.LayerNorm.gamma"] = ones(32) });
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir, nameof(BertForSequenceClassification)));
        Assert.Contains("holds 'bert.embeddings.LayerNorm.weight' twice", e.Message);
    }

    [Fact]
    public void ShapeMismatchIsAnError()
    {
        WriteTinyBertModel(w => new(w) { ["pooler.dense.bias"] = zeros(31) });
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir, nameof(BertForSequenceClassification)));
        Assert.Contains("bert.pooler.dense.bias: checkpoint [31], model [32]", e.Message);
    }

    [Fact]
    public void PickledFolderIsRefused()
    {
        GoldenKeyTests.TinyBert.Save(Path.Combine(dir, ModelFolder.ConfigFile));
        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), [0x80, 0x02, 0x7d]);
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelFolder.Load(dir, nameof(BertForSequenceClassification)));
        Assert.Contains("unpickling runs arbitrary code", e.Message);
    }

    [Fact]
    public void BareGpt2CheckpointWithMaskBuffersLoads()
    {
        var model = new Gpt2LMHeadModel(GoldenKeyTests.TinyGpt2, seed: 2);
        GoldenKeyTests.TinyGpt2.Save(Path.Combine(dir, ModelFolder.ConfigFile));
        // As the Hub's gpt2 files are: no "transformer." prefix, plus the causal-mask buffers.
        var bare = model.state_dict().ToDictionary(kv => kv.Key["transformer.".Length..], kv => kv.Value);
        bare["h.0.attn.bias"] = ones(1, 1, 48, 48).tril();
        bare["h.1.attn.masked_bias"] = tensor(-1e4f);
        SafeTensors.Save(Path.Combine(dir, ModelFolder.WeightsFile), bare);

        var loaded = ModelFolder.Load(dir);

        using var batch = TinyBatch();
        AssertSameTensors(Logits(model, batch), Logits(loaded, batch));
    }
}
