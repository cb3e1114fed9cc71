using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Data;
using FineTuneService.Training.Jobs;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tests.Trainer;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Tests.Jobs;

/// <summary>Pretraining jobs end to end on a small generated corpus with tiny model shapes: losses fall, the metrics
/// are reported, the exported folder loads, and a fine-tune job starts from it.</summary>
public sealed class PretrainingJobTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("pretrain-job-");

    public void Dispose() => dir.Delete(recursive: true);

    string PathTo(string name) => Path.Combine(dir.FullName, name);

    // Documents about one of a few topics, each sentence built from the topic's words: a corpus with structure to learn.
    string Corpus(int documents = 240)
    {
        string[][] topics =
        [
            ["cat", "dog", "mouse", "garden", "tail", "fur"],
            ["engine", "wheel", "road", "driver", "fuel", "garage"],
            ["river", "boat", "fish", "bridge", "water", "shore"],
            ["server", "request", "database", "queue", "worker", "cache"],
        ];
        string[] verbs = ["sees", "likes", "follows", "finds", "moves", "watches"];
        var rng = new Random(3);
        var path = PathTo("corpus.txt");
        using var writer = new StreamWriter(path);
        for (var d = 0; d < documents; d++)
        {
            var words = topics[rng.Next(topics.Length)];
            for (var s = rng.Next(3, 8); s > 0; s--)
                writer.WriteLine($"The {words[rng.Next(words.Length)]} {verbs[rng.Next(verbs.Length)]} the {words[rng.Next(words.Length)]} near the {words[rng.Next(words.Length)]}.");
            writer.WriteLine();
        }
        return path;
    }

    TrainingJobRequest Request(string task, string corpus, JsonObject? model, JsonObject? tokenizer, JsonObject hyperparameters,
        string? baseModelDir = null, string name = "job") =>
        new(name, "pretrain", task, new DataFile(corpus, "txt"), null, 0.1, new ColumnMap(), hyperparameters, baseModelDir, model, tokenizer,
            PathTo(name + "-work"), PathTo(name + "-model"));

    static JsonObject Hyperparameters(int steps, double learningRate = 5e-3) => new()
    {
        ["max_steps"] = steps, ["learning_rate"] = learningRate, ["per_device_train_batch_size"] = 16, ["max_seq_length"] = 64,
        ["logging_steps"] = 5, ["eval_strategy"] = "steps", ["eval_steps"] = steps, ["save_strategy"] = "no", ["warmup_ratio"] = 0.1,
    };

    static JsonObject TinyBert() => new()
    {
        ["architecture"] = "bert", ["hidden_size"] = 32, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 2,
        ["intermediate_size"] = 64, ["max_position_embeddings"] = 64,
    };

    static (RecordingObserver Observer, TrainingJobResult Result) Run(TrainingJobRequest request)
    {
        Assert.Empty(TrainingJobRunner.Validate(request));
        var observer = new RecordingObserver();
        return (observer, TrainingJobRunner.Run(request, observer, CancellationToken.None));
    }

    static void AssertLossFalls(RecordingObserver observer, double by)
    {
        var losses = observer.Losses.Select(l => l.Loss).ToList();
        Assert.True(losses[^1] < losses[0] - by, $"Train loss went {string.Join(" → ", losses.Select(l => l.ToString("F2")))}.");
    }

    [Fact]
    public void MaskedLmWithNextSentenceLearnsAndAFineTuneStartsFromIt()
    {
        var hyperparameters = Hyperparameters(60);
        hyperparameters["whole_word_mask"] = true;
        var (observer, result) = Run(Request("mlm_nsp", Corpus(), TinyBert(), new JsonObject { ["vocab_size"] = 300 }, hyperparameters));

        AssertLossFalls(observer, by: 1.0);
        var eval = observer.Evals.Last();
        Assert.All(new[] { "eval_loss", "eval_perplexity", "eval_mlm_accuracy", "eval_nsp_accuracy" }, key => Assert.Contains(key, eval.Keys));
        Assert.True(eval["eval_mlm_accuracy"] > 0.1, $"mlm_accuracy {eval["eval_mlm_accuracy"]}");
        Assert.Contains("train_tokens_per_second", observer.Points.First(p => p.Split == "train").Values.Keys);
        Assert.Equal(["BertForPreTraining"], BertConfig.Load(Path.Combine(result.ModelDir, "config.json")).Architectures);
        Assert.Contains("cls.seq_relationship.weight", SafeTensors.Load(Path.Combine(result.ModelDir, "model.safetensors")).Keys);
        var vocab = File.ReadAllLines(Path.Combine(result.ModelDir, "vocab.txt"));

        // Fine-tune from the pretrained folder with frozen embeddings: they stay the pretrained ones, the heads go.
        var labelled = PathTo("labelled.csv");
        File.WriteAllLines(labelled, ["text,label", .. Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? $"the cat sees the dog {i},pets" : $"the engine moves the wheel {i},cars")]);
        var finetune = new TrainingJobRequest("finetune", "finetune", "sequence_classification", new DataFile(labelled, "csv"), null, null,
            new ColumnMap(), new JsonObject { ["max_steps"] = 4, ["freeze_embeddings"] = true, ["save_strategy"] = "no", ["max_seq_length"] = 32 },
            result.ModelDir, null, null, PathTo("finetune-work"), PathTo("finetune-model"));
        var fineTuned = Run(finetune).Result;

        var pretrainedWeights = SafeTensors.Load(Path.Combine(result.ModelDir, "model.safetensors"));
        var fineTunedWeights = SafeTensors.Load(Path.Combine(fineTuned.ModelDir, "model.safetensors"));
        Assert.Equal(["BertForSequenceClassification"], BertConfig.Load(Path.Combine(fineTuned.ModelDir, "config.json")).Architectures);
        Assert.DoesNotContain(fineTunedWeights.Keys, k => k.StartsWith("cls.", StringComparison.Ordinal));
        Assert.True(pretrainedWeights["bert.embeddings.word_embeddings.weight"].eq(fineTunedWeights["bert.embeddings.word_embeddings.weight"]).all().item<bool>());
        Assert.Equal(vocab, File.ReadAllLines(Path.Combine(fineTuned.ModelDir, "vocab.txt")));
    }

    [Fact]
    public void CausalLmLearnsWithATrainedByteLevelBpe()
    {
        var model = new JsonObject { ["architecture"] = "gpt2", ["n_embd"] = 32, ["n_layer"] = 2, ["n_head"] = 2, ["n_positions"] = 64 };
        var (observer, result) = Run(Request("clm", Corpus(), model, new JsonObject { ["vocab_size"] = 320 }, Hyperparameters(40)));

        AssertLossFalls(observer, by: 1.5);
        Assert.Contains("eval_perplexity", observer.Evals.Last().Keys);
        Assert.Equal(["GPT2LMHeadModel"], Gpt2Config.Load(Path.Combine(result.ModelDir, "config.json")).Architectures);
        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(Training.Tokenization.Tokenizers.LoadFromFolder(result.ModelDir));
        Assert.Equal(320, tokenizer.VocabSize);
        Assert.IsType<Gpt2LMHeadModel>(ModelFolder.Load(result.ModelDir));
    }

    [Fact]
    public void MaskedLmContinuesFromAnImportedCheckpoint()
    {
        var hyperparameters = Hyperparameters(6, learningRate: 1e-4);
        hyperparameters["per_device_train_batch_size"] = 4;
        hyperparameters["max_seq_length"] = 32;
        var (observer, result) = Run(Request("mlm", Corpus(documents: 40), null, null, hyperparameters, baseModelDir: Fixtures.MiniLm));

        Assert.Contains("eval_mlm_accuracy", observer.Evals.Last().Keys);
        Assert.Equal(["BertForMaskedLM"], BertConfig.Load(Path.Combine(result.ModelDir, "config.json")).Architectures);
        Assert.Equal(File.ReadAllLines(Path.Combine(Fixtures.MiniLm, "vocab.txt")), File.ReadAllLines(Path.Combine(result.ModelDir, "vocab.txt")));
    }

    [Fact]
    public void LlamaCausalLmLearnsFromScratch()
    {
        var model = new JsonObject
        {
            ["architecture"] = "llama", ["hidden_size"] = 32, ["intermediate_size"] = 64, ["num_hidden_layers"] = 2,
            ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["max_position_embeddings"] = 64,
        };
        var (observer, result) = Run(Request("clm", Corpus(), model, new JsonObject { ["vocab_size"] = 320 }, Hyperparameters(40)));

        AssertLossFalls(observer, by: 1.5);
        var config = Assert.IsType<LlamaConfig>(ModelConfig.Load(Path.Combine(result.ModelDir, "config.json")));
        Assert.Equal(["LlamaForCausalLM"], config.Architectures);
        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(Training.Tokenization.Tokenizers.LoadFromFolder(result.ModelDir));
        Assert.Equal([tokenizer.EosId], config.EosTokenIds);
        Assert.IsType<LlamaForCausalLM>(ModelFolder.Load(result.ModelDir));
    }

    /// <summary>RoBERTa with its byte-level BPE, XLM-R with its SentencePiece Unigram: masked-LM pretraining continues
    /// with each one's own mask token and framing.</summary>
    [Theory]
    [InlineData("roberta")]
    [InlineData("xlm-roberta")]
    public void MaskedLmContinuesWithItsTokenizerAndMaskToken(string modelType)
    {
        var tokenizerDir = modelType == "roberta"
            ? Tokenization.HuggingFaceParityTests.DressedBpe("roberta")
            : Tokenization.UnigramTokenizerTests.Dressed("xlmr");
        var tokenizer = Training.Tokenization.Tokenizers.LoadFromFolder(tokenizerDir);
        var baseDir = PathTo(modelType + "-base");
        RobertaConfig config = modelType == "roberta" ? new RobertaConfig() : new XlmRobertaConfig();
        config = config with
        {
            VocabSize = tokenizer.VocabSize,
            PadTokenId = tokenizer.PadId,
            HiddenSize = 32,
            NumHiddenLayers = 2,
            NumAttentionHeads = 2,
            IntermediateSize = 64,
            MaxPositionEmbeddings = 34 + tokenizer.PadId,
            TypeVocabSize = 1,
        };
        string architecture = modelType == "roberta" ? nameof(RobertaForMaskedLM) : "XLMRobertaForMaskedLM";
        var pretrained = ModelFolder.Create(architecture, config, seed: 1);
        ModelFolder.Export(pretrained, baseDir, tokenizer);
        pretrained.Module.Dispose();
        var hyperparameters = Hyperparameters(6, learningRate: 1e-3);
        hyperparameters["max_seq_length"] = 32;
        var (observer, result) = Run(Request("mlm", Corpus(documents: 40), null, null, hyperparameters, baseModelDir: baseDir));

        Assert.Contains("eval_mlm_accuracy", observer.Evals.Last().Keys);
        Assert.Equal([architecture], ModelConfig.Load(Path.Combine(result.ModelDir, "config.json")).Architectures);
        Assert.Equal(File.ReadAllText(Path.Combine(baseDir, "tokenizer.json")), File.ReadAllText(Path.Combine(result.ModelDir, "tokenizer.json")));
    }

    [Fact]
    public void ASmallSplitOfAFewDocumentsStillHoldsOneOut()
    {
        // 0.02 of 12 documents selects none by hash; the split holds out one rather than leaving evaluation empty.
        var hyperparameters = Hyperparameters(4);
        var corpus = Corpus(documents: 12);
        Assert.All(Training.Data.CorpusReader.ReadDocuments(new DataFile(corpus, "txt"), "text"), d => Assert.True(d.UnitHash() >= 0.02));
        var request = Request("mlm", corpus, TinyBert(), new JsonObject { ["vocab_size"] = 300 }, hyperparameters) with { ValidationSplit = 0.02 };
        var (observer, _) = Run(request);
        Assert.Contains("eval_mlm_accuracy", observer.Evals.Last().Keys);
    }
}
