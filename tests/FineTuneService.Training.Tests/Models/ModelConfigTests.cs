using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Tests.Models;

public sealed class ModelConfigTests : IDisposable
{
    readonly string path = Path.Combine(Directory.CreateTempSubdirectory("fts-config-").FullName, "config.json");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);

    [Fact]
    public void FixtureConfigReadsAsBertWithHuggingFaceNames()
    {
        var config = BertConfig.Load(Path.Combine(Fixtures.MiniLm, "config.json"));
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 1e-12), (config.VocabSize, config.HiddenSize, config.NumHiddenLayers,
            config.NumAttentionHeads, config.IntermediateSize, config.MaxPositionEmbeddings, config.LayerNormEps));
        Assert.Equal(["BertModel"], config.Architectures);
    }

    [Fact]
    public void UnknownFieldsSurviveARoundTrip()
    {
        File.WriteAllText(path, """{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "torch_dtype": "float32", "task_specific_params": {"text-generation": {"max_length": 50}}}""");
        var config = Gpt2Config.Load(path);
        Assert.Equal(64, config.NEmbd);
        config.Save(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("gpt2", json["model_type"]!.GetValue<string>());
        Assert.Equal("float32", json["torch_dtype"]!.GetValue<string>());
        Assert.Equal(50, json["task_specific_params"]!["text-generation"]!["max_length"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{"model_type": "t5"}""", "model_type 't5' is not supported")]
    [InlineData("""{"model_type": "bert", "problem_type": "ranking"}""", "problem_type 'ranking'")]
    [InlineData("""{"model_type": "bert", "id2label": {"0": "a", "2": "b"}}""", "id2label must number its labels 0..n-1")]
    [InlineData("""{"model_type": "bert", "id2label": {"0": "a", "1": "b"}, "label2id": {"a": 1, "b": 0}}""", "label2id must be the inverse")]
    [InlineData("""{"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12}""", "multiple of num_attention_heads")]
    [InlineData("""{"model_type": "bert", "position_embedding_type": "relative_key"}""", "relative_key")]
    [InlineData("""{"model_type": "bert", "hidden_act": "mish"}""", "activation 'mish'")]
    [InlineData("""{"model_type": "bert", "hidden_size": "wide"}""", "not a valid config")]
    [InlineData("""{"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}""", "rope_scaling type 'yarn' is not supported (default, linear, llama3)")]
    [InlineData("""{"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0}}""", "rope_scaling.high_freq_factor must be a positive number")]
    [InlineData("""{"model_type": "llama", "rope_scaling": {"type": "linear"}}""", "rope_scaling.factor must be a positive number")]
    [InlineData("""{"model_type": "llama", "rope_scaling": 2}""", "rope_scaling must be an object or null")]
    [InlineData("""{"model_type": "qwen2", "use_sliding_window": true}""", "use_sliding_window true is not supported")]
    public void InvalidConfigsAreRefusedWithTheReason(string json, string reason)
    {
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidCheckpointException>(() => ModelConfig.Load(path));
        Assert.Contains(reason, e.Message);
    }
}
