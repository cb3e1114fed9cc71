using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using TorchSharp;

namespace FineTuneService.Training.Tests.Models;

/// <summary>State-dict keys and shapes are Hugging Face's, key for key.</summary>
public class GoldenKeyTests
{
    internal static readonly BertConfig TinyBert = new()
    {
        VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 37,
        MaxPositionEmbeddings = 64, TypeVocabSize = 2,
        Id2Label = new Dictionary<int, string> { [0] = "neg", [1] = "neu", [2] = "pos" },
        Label2Id = new Dictionary<string, int> { ["neg"] = 0, ["neu"] = 1, ["pos"] = 2 },
    };

    internal static readonly Gpt2Config TinyGpt2 = new() { VocabSize = 101, NEmbd = 32, NLayer = 2, NHead = 4, NPositions = 48 };

    static string[] Keys(torch.nn.Module module) =>
        module.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]").Order(StringComparer.Ordinal).ToArray();

    /// <summary>Expands a per-layer template ("{i}") over the layers, then sorts.</summary>
    static string[] Expected(string[] fixedKeys, string[] perLayer, int layers) =>
        fixedKeys.Concat(Enumerable.Range(0, layers).SelectMany(i => perLayer.Select(k => k.Replace("{i}", i.ToString()))))
            .Order(StringComparer.Ordinal).ToArray();

    static readonly string[] TinyBertLayer =
    [
        "encoder.layer.{i}.attention.self.query.weight [32, 32]", "encoder.layer.{i}.attention.self.query.bias [32]",
        "encoder.layer.{i}.attention.self.key.weight [32, 32]", "encoder.layer.{i}.attention.self.key.bias [32]",
        "encoder.layer.{i}.attention.self.value.weight [32, 32]", "encoder.layer.{i}.attention.self.value.bias [32]",
        "encoder.layer.{i}.attention.output.dense.weight [32, 32]", "encoder.layer.{i}.attention.output.dense.bias [32]",
        "encoder.layer.{i}.attention.output.LayerNorm.weight [32]", "encoder.layer.{i}.attention.output.LayerNorm.bias [32]",
        "encoder.layer.{i}.intermediate.dense.weight [37, 32]", "encoder.layer.{i}.intermediate.dense.bias [37]",
        "encoder.layer.{i}.output.dense.weight [32, 37]", "encoder.layer.{i}.output.dense.bias [32]",
        "encoder.layer.{i}.output.LayerNorm.weight [32]", "encoder.layer.{i}.output.LayerNorm.bias [32]",
    ];

    static readonly string[] TinyBertEmbeddings =
    [
        "embeddings.word_embeddings.weight [99, 32]", "embeddings.position_embeddings.weight [64, 32]",
        "embeddings.token_type_embeddings.weight [2, 32]",
        "embeddings.LayerNorm.weight [32]", "embeddings.LayerNorm.bias [32]",
    ];

    static readonly string[] TinyBertPooler = ["pooler.dense.weight [32, 32]", "pooler.dense.bias [32]"];

    static string[] Prefixed(string prefix, IEnumerable<string> keys) => keys.Select(k => prefix + k).ToArray();

    [Fact]
    public void BertModelKeysEqualTheFixtureCheckpoint()
    {
        using var model = new BertModel(BertConfig.Load(Path.Combine(Fixtures.MiniLm, "config.json")));
        var file = SafeTensors.Load(Path.Combine(Fixtures.MiniLm, "model.safetensors"));
        var expected = file.Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(5 + 6 * 16 + 2, expected.Length);
        Assert.Equal(expected, Keys(model));
    }

    [Fact]
    public void TinyBertModelKeys()
    {
        using var model = new BertModel(TinyBert);
        Assert.Equal(Expected([.. TinyBertEmbeddings, .. TinyBertPooler], TinyBertLayer, 2), Keys(model));
    }

    [Fact]
    public void BertForSequenceClassificationKeys()
    {
        using var model = new BertForSequenceClassification(TinyBert);
        var expected = Expected(
            [.. Prefixed("bert.", [.. TinyBertEmbeddings, .. TinyBertPooler]), "classifier.weight [3, 32]", "classifier.bias [3]"],
            Prefixed("bert.", TinyBertLayer), 2);
        Assert.Equal(expected, Keys(model));
    }

    [Fact]
    public void BertForTokenClassificationKeysHaveNoPooler()
    {
        using var model = new BertForTokenClassification(TinyBert);
        var expected = Expected(
            [.. Prefixed("bert.", TinyBertEmbeddings), "classifier.weight [3, 32]", "classifier.bias [3]"],
            Prefixed("bert.", TinyBertLayer), 2);
        Assert.Equal(expected, Keys(model));
    }

    static readonly string[] MlmHead =
    [
        "cls.predictions.transform.dense.weight [32, 32]", "cls.predictions.transform.dense.bias [32]",
        "cls.predictions.transform.LayerNorm.weight [32]", "cls.predictions.transform.LayerNorm.bias [32]",
        "cls.predictions.bias [99]",
    ];

    [Fact]
    public void BertForPreTrainingKeys()
    {
        using var model = new BertForPreTraining(TinyBert);
        var expected = Expected(
            [.. Prefixed("bert.", [.. TinyBertEmbeddings, .. TinyBertPooler]), .. MlmHead,
             "cls.seq_relationship.weight [2, 32]", "cls.seq_relationship.bias [2]"],
            Prefixed("bert.", TinyBertLayer), 2);
        Assert.Equal(expected, Keys(model));
    }

    [Fact]
    public void BertForMaskedLMKeys()
    {
        using var model = new BertForMaskedLM(TinyBert);
        var expected = Expected([.. Prefixed("bert.", TinyBertEmbeddings), .. MlmHead], Prefixed("bert.", TinyBertLayer), 2);
        Assert.Equal(expected, Keys(model));
    }

    [Fact]
    public void Gpt2LMHeadModelKeysWithConv1DWeightsInOut()
    {
        using var model = new Gpt2LMHeadModel(TinyGpt2);
        var expected = Expected(
            ["transformer.wte.weight [101, 32]", "transformer.wpe.weight [48, 32]", "transformer.ln_f.weight [32]", "transformer.ln_f.bias [32]"],
            [
                "transformer.h.{i}.ln_1.weight [32]", "transformer.h.{i}.ln_1.bias [32]",
                "transformer.h.{i}.attn.c_attn.weight [32, 96]", "transformer.h.{i}.attn.c_attn.bias [96]",
                "transformer.h.{i}.attn.c_proj.weight [32, 32]", "transformer.h.{i}.attn.c_proj.bias [32]",
                "transformer.h.{i}.ln_2.weight [32]", "transformer.h.{i}.ln_2.bias [32]",
                "transformer.h.{i}.mlp.c_fc.weight [32, 128]", "transformer.h.{i}.mlp.c_fc.bias [128]",
                "transformer.h.{i}.mlp.c_proj.weight [128, 32]", "transformer.h.{i}.mlp.c_proj.bias [32]",
            ], 2);
        Assert.Equal(expected, Keys(model));
    }
}
