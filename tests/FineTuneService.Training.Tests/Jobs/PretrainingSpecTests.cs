using System.Text.Json.Nodes;
using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Tests.Jobs;

public sealed class PretrainingSpecTests
{
    static TrainingJobRequest Request(string task, string? model = null, string? tokenizer = null, string hyperparameters = "{}",
        string format = "txt", double? validationSplit = null, string? baseModelDir = null) =>
        new("job", "pretrain", task, new DataFile("/data/corpus.txt", format), null, validationSplit, new ColumnMap(),
            JsonNode.Parse(hyperparameters)!.AsObject(), baseModelDir,
            model is null ? null : JsonNode.Parse(model)!.AsObject(), tokenizer is null ? null : JsonNode.Parse(tokenizer)!.AsObject(),
            "/work", "/out");

    static (PretrainingSpec? Spec, Dictionary<string, string[]> Errors) Parse(TrainingJobRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        return (PretrainingSpec.Parse(request, errors), errors);
    }

    [Fact]
    public void AFromScratchBertSpecParses()
    {
        var (spec, errors) = Parse(Request("mlm_nsp",
            """{"architecture": "bert", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 128}""",
            """{"vocab_size": 1000, "min_frequency": 3}""",
            """{"mlm_probability": 0.2, "whole_word_mask": true, "short_seq_prob": 0.05, "learning_rate": 1e-3, "max_seq_length": 128}""",
            validationSplit: 0.1));

        Assert.Empty(errors);
        var bert = Assert.IsType<BertConfig>(spec!.Shape);
        Assert.Equal((64, 2, 4, 128, 1000), (bert.HiddenSize, bert.NumHiddenLayers, bert.NumAttentionHeads, bert.IntermediateSize, bert.VocabSize));
        Assert.Equal(new TokenizerSettings(1000, true, 3), spec.Tokenizer);
        Assert.Equal((0.2, true, 0.05), (spec.MlmProbability, spec.WholeWordMask, spec.ShortSeqProb));
        Assert.Equal(["learning_rate", "max_seq_length"], spec.TrainerHyperparameters.Select(p => p.Key));
    }

    [Fact]
    public void AGpt2SpecTakesGpt2Names()
    {
        var (spec, errors) = Parse(Request("clm", """{"architecture": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64}""",
            """{"vocab_size": 500}"""));

        Assert.Empty(errors);
        var gpt2 = Assert.IsType<Gpt2Config>(spec!.Shape);
        Assert.Equal((64, 2, 4, 64, 500), (gpt2.NEmbd, gpt2.NLayer, gpt2.NHead, gpt2.NPositions, gpt2.VocabSize));
        Assert.False(spec.Tokenizer!.Lowercase);
    }

    [Theory]
    [InlineData("mlm", """{"architecture": "bert", "hidden_size": 60, "num_attention_heads": 7}""", """{"vocab_size": 1000}""", "{}", "model")]
    [InlineData("mlm", """{"architecture": "bert", "hidden_size": "big"}""", """{"vocab_size": 1000}""", "{}", "model.hidden_size")]
    [InlineData("mlm", """{"architecture": "bert", "hidden_sise": 64}""", """{"vocab_size": 1000}""", "{}", "model.hidden_sise")]
    [InlineData("mlm", """{"architecture": "bert", "vocab_size": 64}""", """{"vocab_size": 1000}""", "{}", "model.vocab_size")]
    [InlineData("mlm", """{"architecture": "gpt2"}""", """{"vocab_size": 1000}""", "{}", "model.architecture")]
    [InlineData("mlm", """{"hidden_size": 64}""", """{"vocab_size": 1000}""", "{}", "model.architecture")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 10}""", "{}", "tokenizer.vocab_size")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"min_frequency": 2}""", "{}", "tokenizer.vocab_size")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000, "min_frequency": 0}""", "{}", "tokenizer.min_frequency")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000, "casing": "upper"}""", "{}", "tokenizer.casing")]
    [InlineData("mlm", """{"architecture": "bert"}""", null, "{}", "tokenizer")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", """{"mlm_probability": 1.5}""", "hyperparameters.mlm_probability")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", """{"short_seq_prob": 0.1}""", "hyperparameters.short_seq_prob")]
    [InlineData("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", """{"whole_word_mask": "yes"}""", "hyperparameters.whole_word_mask")]
    [InlineData("clm", """{"architecture": "gpt2"}""", """{"vocab_size": 1000}""", """{"mlm_probability": 0.1}""", "hyperparameters.mlm_probability")]
    [InlineData("mlm", """{"architecture": "bert", "max_position_embeddings": 64}""", """{"vocab_size": 1000}""", """{"max_seq_length": 128}""", "hyperparameters.max_seq_length")]
    [InlineData("sop", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", "{}", "task")]
    [InlineData("mlm", null, null, "{}", "model")]
    public void ProblemsAreNamedByField(string task, string? model, string? tokenizer, string hyperparameters, string field)
    {
        var (spec, errors) = Parse(Request(task, model, tokenizer, hyperparameters));

        Assert.Null(spec);
        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public void CorpusAndSplitAreChecked()
    {
        Assert.Contains("train_dataset_id", Parse(Request("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", format: "csv")).Errors.Keys);
        Assert.Contains("validation_split", Parse(Request("mlm", """{"architecture": "bert"}""", """{"vocab_size": 1000}""", validationSplit: 1.0)).Errors.Keys);
    }

    [Fact]
    public void ContinuedPretrainingChecksTheBaseModel()
    {
        var fixture = Fixtures.MiniLm;

        Assert.Empty(Parse(Request("mlm", baseModelDir: fixture)).Errors);
        Assert.Contains("base_model_id", Parse(Request("clm", baseModelDir: fixture)).Errors.Keys);
        Assert.Contains("tokenizer", Parse(Request("mlm", tokenizer: """{"vocab_size": 1000}""", baseModelDir: fixture)).Errors.Keys);
        Assert.Contains("base_model_id", Parse(Request("mlm", baseModelDir: "/nonexistent")).Errors.Keys);
    }

    [Fact]
    public void TheBestModelIsPickedByAMetricTheTaskReports()
    {
        const string best = """{"eval_strategy": "steps", "eval_steps": 10, "save_strategy": "steps", "save_steps": 10, "load_best_model_at_end": true, "metric_for_best_model": "%"}""";
        TrainingJobRequest Spec(string task, string metric) => Request(task, task == "clm" ? """{"architecture": "gpt2"}""" : """{"architecture": "bert"}""",
            """{"vocab_size": 1000}""", best.Replace("%", metric), validationSplit: 0.1);

        Assert.Empty(TrainingJobRunner.Validate(Spec("mlm_nsp", "nsp_accuracy")));
        Assert.Empty(TrainingJobRunner.Validate(Spec("clm", "eval_perplexity")));
        var errors = TrainingJobRunner.Validate(Spec("clm", "mlm_accuracy"));
        Assert.Equal(["hyperparameters.metric_for_best_model"], errors.Keys);
        Assert.Contains("use one of loss, perplexity", errors["hyperparameters.metric_for_best_model"][0]);
    }
}
