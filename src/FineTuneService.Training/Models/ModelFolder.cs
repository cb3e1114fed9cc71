using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>Hugging Face checkpoint folders in and out: <c>config.json</c>, <c>model.safetensors</c> (or its sharded
/// index), tokenizer files, <c>training_args.json</c>. Loading is strict: a key the model lacks, or a model key the
/// checkpoint lacks, is an error unless the allow-list below names it.</summary>
public static class ModelFolder
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string TrainingArgsFile = "training_args.json";

    /// <summary>Loads a folder into a task model. <paramref name="architecture"/> null means the one config.json
    /// names; otherwise the checkpoint's encoder is loaded under a new head (a base <c>BertModel</c> into
    /// <c>bert.*</c>, a pretraining checkpoint without its <c>cls.*</c> heads), whose parameters start freshly
    /// initialised from <paramref name="seed"/>. <paramref name="configure"/> adjusts the config first
    /// (labels, problem type, dropout); a classifier checkpoint given new labels gets a fresh classifier.
    /// <paramref name="budget"/>, when given, is checked on the final config before anything is built.</summary>
    public static ITaskModel Load(string dir, string? architecture = null, Func<ModelConfig, ModelConfig>? configure = null, long seed = 42,
        ModelBudget? budget = null)
    {
        var stored = ModelConfig.Load(Path.Combine(dir, ConfigFile));
        var source = SourceArchitecture(stored);
        var target = architecture ?? source;
        var config = (configure?.Invoke(stored) ?? stored) with { Architectures = [target] };
        budget?.Enforce(config);
        var weights = Weights(dir);
        // Drawing random weights that the checkpoint then overwrites cost seconds: only what it leaves out is drawn.
        var model = Create(target, config, seed: null);
        try
        {
            // The checkpoint's own head is kept only for the same task with the same labels.
            var sameHead = source == target && (stored.Id2Label ?? new Dictionary<int, string>()).OrderBy(kv => kv.Key)
                .SequenceEqual((config.Id2Label ?? new Dictionary<int, string>()).OrderBy(kv => kv.Key));
            var (renamed, loaded) = Match(model, weights, sameHead);
            foreach (var name in loaded) SafeTensors.ReadInto(renamed[name], model.Module.state_dict()[name]);
            ModelParts.Initialize(model.Module, config.InitializerRange, seed, except: loaded);
        }
        catch
        {
            model.Module.Dispose();
            throw;
        }
        return model;
    }

    static string SourceArchitecture(ModelConfig config) =>
        config.Architectures?.FirstOrDefault() ?? ModelCatalogue.Of(config).BaseArchitecture;

    /// <summary>Checks a folder as <see cref="Load"/> would use it, without reading a weight: the config within
    /// <paramref name="budget"/>, the whole safetensors header (or the shard index and its shards), the checkpoint's
    /// names and shapes against the model the config builds, and a tokenizer whose ids fit the embedding. Throws
    /// <see cref="InvalidCheckpointException"/> naming the file at fault.</summary>
    public static void Check(string dir, ModelBudget budget)
    {
        var config = ModelConfig.Load(Path.Combine(dir, ConfigFile));
        budget.Enforce(config);
        var weights = Weights(dir);
        var source = SourceArchitecture(config);
        // A bare base checkpoint is checked as the model a job would load it into: its family's pretraining head.
        var architecture = ModelCatalogue.Head(source) is not null ? source : TaskCatalogue.PretrainingArchitecture(ModelCatalogue.Of(config));
        var model = Create(architecture, config with { Architectures = [architecture] }, seed: null);
        try
        {
            try { Match(model, weights, sameHead: architecture == source); }
            catch (InvalidCheckpointException e) { throw new InvalidCheckpointException($"'{WeightsName(dir)}' does not fit config.json: {e.Message}"); }
        }
        finally { model.Module.Dispose(); }

        ITokenizer tokenizer;
        // Any failure to read untrusted tokenizer files means the same thing to the user: these files are not usable.
        try { tokenizer = Tokenizers.LoadFromFolder(dir); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidCheckpointException($"'{Tokenizers.FileOf(dir)}' is not a usable tokenizer: {e.Message.Replace(dir + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)}");
        }
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidCheckpointException($"'{Tokenizers.FileOf(dir)}' has {tokenizer.VocabSize} tokens (largest id {tokenizer.VocabSize - 1}), " +
                $"more than config.json's vocab_size {config.VocabSize} embeds");
        }
    }

    static string WeightsName(string dir) => File.Exists(Path.Combine(dir, SafeTensors.IndexFileName)) ? SafeTensors.IndexFileName : WeightsFile;

    /// <summary>A fresh, Hugging Face–initialised model of the named architecture; a null seed leaves it uninitialised.</summary>
    public static ITaskModel Create(string architecture, ModelConfig config, long? seed = 42)
    {
        config.Validate();
        return ModelCatalogue.Create(architecture, config, seed);
    }

    /// <summary>The tensors of the folder's <c>model.safetensors</c> or sharded index (not yet read). A folder that
    /// only has a pickled <c>.bin</c> checkpoint is refused.</summary>
    public static IReadOnlyList<StoredTensor> Weights(string dir)
    {
        foreach (var name in new[] { SafeTensors.IndexFileName, WeightsFile })
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return SafeTensors.Index(path);
            }
        }
        var pickled = Directory.EnumerateFiles(dir, "*.bin").FirstOrDefault();
        return pickled is not null
            ? SafeTensors.Index(pickled) // throws the pickle refusal
            : throw new InvalidCheckpointException($"the folder has neither {WeightsFile} nor {SafeTensors.IndexFileName}");
    }

    /// <summary>Reads checkpoint tensors straight into the model's parameters by Hugging Face name.
    /// Renamed: legacy LayerNorm <c>gamma</c>/<c>beta</c> → <c>weight</c>/<c>bias</c>; keys of a bare encoder
    /// checkpoint get the task model's encoder prefix (the family's: <c>bert.</c>, <c>transformer.</c>, <c>model.</c>, …).
    /// Ignored when present: <c>position_ids</c> buffers, tied copies of the embeddings (<c>cls.predictions.decoder.*</c>,
    /// <c>lm_head.weight</c>), GPT-2's causal-mask buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>), a pooler the
    /// model doesn't have, and heads of another task (<c>cls.*</c>, <c>classifier.*</c>, <c>lm_head.*</c>).
    /// Unless <paramref name="sameHead"/> (the checkpoint is this task with these labels) the model's head and pooler
    /// may be missing and keep their fresh initialisation; its <c>classifier.*</c> then always stays fresh (a
    /// classifier means its labels), while an LM head (<c>cls.*</c>) of the same shape is reused. Returns the checkpoint's
    /// tensors under the model's names and the names that fill a parameter; reads nothing.</summary>
    static (Dictionary<string, StoredTensor> Renamed, IReadOnlySet<string> Loaded) Match(ITaskModel model, IReadOnlyList<StoredTensor> weights, bool sameHead)
    {
        var encoder = ModelCatalogue.Of(model.Config).BasePrefix;
        var bare = !weights.Any(t => t.Name.StartsWith(encoder, StringComparison.Ordinal));
        var renamed = weights.GroupBy(t => bare && !IsTaskHead(Rename(t.Name)) ? encoder + Rename(t.Name) : Rename(t.Name))
            .ToDictionary(g => g.Key, g => g.Count() == 1 ? g.Single()
                : throw new InvalidCheckpointException($"the checkpoint holds '{g.Key}' twice ({string.Join(", ", g.Select(t => t.Name))})"));
        bool IsPooler(string key) => key.StartsWith(encoder + "pooler.", StringComparison.Ordinal);
        var targets = model.Module.state_dict();
        var loaded = new HashSet<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        foreach (var (name, stored) in renamed)
        {
            // A classifier means its labels: only the same task with the same labels reuses it. The LM heads mean the vocabulary.
            if (targets.TryGetValue(name, out var target) && (sameHead || !IsClassifier(name)))
            {
                if (target.shape.SequenceEqual(stored.Shape))
                {
                    loaded.Add(name);
                }
                else if (sameHead || !IsTaskHead(name))
                {
                    mismatched.Add($"{name}: checkpoint [{string.Join(", ", stored.Shape)}], model [{string.Join(", ", target.shape)}]");
                }
            }
            else if (!IsTaskHead(name) && !IsPooler(name) && !IsIgnorable(name))
            {
                unexpected.Add(name);
            }
        }
        var missing = targets.Keys.Where(k => !loaded.Contains(k) && (sameHead || !(IsTaskHead(k) || IsPooler(k)))).ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            static string List(string what, List<string> keys) =>
                keys.Count == 0 ? "" : $" {what} ({keys.Count}): {string.Join(", ", keys.Take(8))}{(keys.Count > 8 ? ", …" : "")}.";
            throw new InvalidCheckpointException($"the checkpoint does not fit {model.Architecture}." +
                List("missing keys", missing) + List("unexpected keys", unexpected) + List("shape mismatches", mismatched));
        }
        return (renamed, loaded);
    }

    /// <summary>Heads of every family: classifiers (they mean their labels) and LM heads (they mean the vocabulary).</summary>
    static readonly string[] ClassifierPrefixes = ["classifier.", "pre_classifier.", "score."];
    static readonly string[] LmHeadPrefixes = ["cls.", "lm_head.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "head.", "decoder."];

    static bool IsClassifier(string key) => ClassifierPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    static bool IsTaskHead(string key) => IsClassifier(key) || LmHeadPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    static string Rename(string key) =>
        key.EndsWith(".gamma", StringComparison.Ordinal) ? key[..^".gamma".Length] + ".weight"
        : key.EndsWith(".beta", StringComparison.Ordinal) ? key[..^".beta".Length] + ".bias"
        : key;

    static bool IsIgnorable(string key) =>
        key.EndsWith(".position_ids", StringComparison.Ordinal)
        || key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

    /// <summary>Writes a Hugging Face folder that <c>from_pretrained</c> loads: config.json (architectures, model_type,
    /// id2label, label2id, problem_type), model.safetensors with Hugging Face names, the tokenizer's files and
    /// training_args.json.</summary>
    public static void Export(ITaskModel model, string dir, ITokenizer? tokenizer = null, JsonObject? trainingArgs = null)
    {
        Directory.CreateDirectory(dir);
        var config = model.Config;
        var id2Label = config.Id2Label ?? Enumerable.Range(0, config.NumLabels).ToDictionary(i => i, i => $"LABEL_{i}");
        (config with
        {
            Architectures = [model.Architecture],
            Id2Label = id2Label,
            Label2Id = config.Label2Id ?? id2Label.ToDictionary(kv => kv.Value, kv => kv.Key),
        }).Save(Path.Combine(dir, ConfigFile));
        SafeTensors.Save(Path.Combine(dir, WeightsFile), model.Module.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        tokenizer?.Save(dir);
        if (trainingArgs is not null)
        {
            File.WriteAllText(Path.Combine(dir, TrainingArgsFile), trainingArgs.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
    }
}
