using System.Text;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Api.Tests;

/// <summary>Small real inputs: a sentiment CSV whose label follows from its words, and a tiny BERT (hidden 32,
/// 2 layers) over exactly those words, written as a Hugging Face folder by the models' own export.</summary>
static class TestData
{
    static readonly string[] Positive = ["good", "great", "excellent", "wonderful", "lovely", "superb"];
    static readonly string[] Negative = ["bad", "awful", "terrible", "poor", "horrible", "dreadful"];
    static readonly string[] Subjects = ["the movie", "the film", "the plot", "the acting", "this show"];
    static readonly string[] Verbs = ["was", "is", "seemed", "felt"];

    public static byte[] SentimentCsv(int rows, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("text,label\n");
        for (int i = 0; i < rows; i++)
        {
            bool positive = i % 2 == 0;
            var words = positive ? Positive : Negative;
            csv.Append($"{Subjects[random.Next(Subjects.Length)]} {Verbs[random.Next(Verbs.Length)]} really {words[random.Next(words.Length)]},{(positive ? "pos" : "neg")}\n");
        }
        return System.Text.Encoding.UTF8.GetBytes(csv.ToString());
    }

    static readonly string[][] Topics =
    [
        ["cat", "dog", "mouse", "garden", "tail", "fur"],
        ["engine", "wheel", "road", "driver", "fuel", "garage"],
        ["river", "boat", "fish", "bridge", "water", "shore"],
        ["server", "request", "database", "queue", "worker", "cache"],
    ];
    static readonly string[] CorpusVerbs = ["sees", "likes", "follows", "finds", "moves", "watches"];

    /// <summary>A txt corpus with structure to learn: each document keeps to one topic's words, 3 to 5 sentences of
    /// "the X verb the Y near the Z.", documents separated by blank lines.</summary>
    public static string Corpus(int documents, int seed)
    {
        var random = new Random(seed);
        string Sentence(string[] words) =>
            $"the {words[random.Next(words.Length)]} {CorpusVerbs[random.Next(CorpusVerbs.Length)]} the {words[random.Next(words.Length)]} near the {words[random.Next(words.Length)]}.";
        return string.Join("\n\n", Enumerable.Range(0, documents).Select(_ =>
        {
            var words = Topics[random.Next(Topics.Length)];
            return string.Join("\n", Enumerable.Range(0, random.Next(3, 6)).Select(_ => Sentence(words)));
        })) + "\n";
    }

    static readonly Lazy<string> TinyModelFolder = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "fts-tests", "tiny-bert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var words = Subjects.Concat(Verbs).SelectMany(s => s.Split(' ')).Concat(Positive).Concat(Negative).Append("really").Distinct();
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. words]);
        var tokenizer = WordPieceTokenizer.FromFolder(dir);
        var config = new BertConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2,
            IntermediateSize = 64, MaxPositionEmbeddings = 64,
        };
        var model = ModelFolder.Create(nameof(BertForMaskedLM), config);
        ModelFolder.Export(model, dir, tokenizer);
        model.Module.Dispose();
        return dir;
    });

    /// <summary>The folder of the tiny pretrained-shape BERT (made once per test run).</summary>
    public static string TinyModel => TinyModelFolder.Value;

    /// <summary>A sequence classification spec: 2 epochs of batch 8, loss every 2 steps, evaluation and a checkpoint per epoch.</summary>
    public static Dictionary<string, object?> FineTuneSpec(Guid train, Guid validation, Guid model, Dictionary<string, object?>? hyperparameters = null) => new()
    {
        ["type"] = "finetune",
        ["task"] = "sequence_classification",
        ["base_model_id"] = model,
        ["train_dataset_id"] = train,
        ["validation_dataset_id"] = validation,
        ["columns"] = new Dictionary<string, object?> { ["text"] = "text", ["label"] = "label" },
        ["hyperparameters"] = hyperparameters ?? new Dictionary<string, object?>
        {
            ["num_train_epochs"] = 2, ["learning_rate"] = 1e-3, ["per_device_train_batch_size"] = 8,
            ["max_seq_length"] = 16, ["logging_steps"] = 2, ["eval_strategy"] = "epoch", ["save_strategy"] = "epoch", ["seed"] = 7,
        },
    };

    public static MultipartFormDataContent ModelParts(string folder, params string[] names)
    {
        var form = new MultipartFormDataContent();
        foreach (var name in names) form.Add(new ByteArrayContent(File.ReadAllBytes(Path.Combine(folder, name))), "files", name);
        return form;
    }
}
