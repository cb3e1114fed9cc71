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

    /// <summary>The task models we build, by Hugging Face class name.</summary>
    public static readonly IReadOnlyList<string> Architectures =
    [
        nameof(BertForSequenceClassification), nameof(BertForTokenClassification), nameof(BertForMaskedLM),
        nameof(BertForPreTraining), "GPT2LMHeadModel",
    ];

    /// <summary>Loads a folder into a task model. <paramref name="architecture"/> null means the one config.json
    /// names; otherwise the checkpoint's encoder is loaded under a new head (a base <c>BertModel</c> into
    /// <c>bert.*</c>, a pretraining checkpoint without its <c>cls.*</c> heads), whose parameters start freshly
    /// initialised from <paramref name="seed"/>. <paramref name="configure"/> adjusts the config first
    /// (labels, problem type, dropout).</summary>
    public static ITaskModel Load(string dir, string? architecture = null, Func<ModelConfig, ModelConfig>? configure = null, long seed = 42)
    {
        var stored = ModelConfig.Load(Path.Combine(dir, ConfigFile));
        var source = stored.Architectures?.FirstOrDefault() ?? (stored is Gpt2Config ? "GPT2LMHeadModel" : "BertModel");
        var target = architecture ?? source;
        var config = (configure?.Invoke(stored) ?? stored) with { Architectures = [target] };
        var model = Create(target, config, seed);
        var weights = ReadWeights(dir);
        try
        {
            LoadWeights(model, weights, sameArchitecture: source == target);
        }
        catch
        {
            model.Module.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
        return model;
    }

    /// <summary>A fresh, Hugging Face–initialised model of the named architecture.</summary>
    public static ITaskModel Create(string architecture, ModelConfig config, long seed = 42)
    {
        config.Validate();
        return (architecture, config) switch
        {
            (nameof(BertForSequenceClassification), BertConfig c) => new BertForSequenceClassification(c, seed),
            (nameof(BertForTokenClassification), BertConfig c) => new BertForTokenClassification(c, seed),
            (nameof(BertForMaskedLM), BertConfig c) => new BertForMaskedLM(c, seed),
            (nameof(BertForPreTraining), BertConfig c) => new BertForPreTraining(c, seed),
            ("GPT2LMHeadModel", Gpt2Config c) => new Gpt2LMHeadModel(c, seed),
            _ => throw new InvalidCheckpointException(
                $"architecture '{architecture}' with model_type '{config.ModelType}' is not supported; name one of {string.Join(", ", Architectures)}"),
        };
    }

    /// <summary>All tensors of the folder's <c>model.safetensors</c> or sharded index. A folder that only has a
    /// pickled <c>.bin</c> checkpoint is refused.</summary>
    public static Dictionary<string, Tensor> ReadWeights(string dir)
    {
        foreach (var name in new[] { SafeTensors.IndexFileName, WeightsFile })
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return SafeTensors.Load(path);
            }
        }
        var pickled = Directory.EnumerateFiles(dir, "*.bin").FirstOrDefault();
        return pickled is not null
            ? SafeTensors.Load(pickled) // throws the pickle refusal
            : throw new InvalidCheckpointException($"the folder has neither {WeightsFile} nor {SafeTensors.IndexFileName}");
    }

    /// <summary>Copies checkpoint tensors into the model by Hugging Face name.
    /// Renamed: legacy LayerNorm <c>gamma</c>/<c>beta</c> → <c>weight</c>/<c>bias</c>; keys of a bare encoder
    /// checkpoint get the task model's encoder prefix (<c>bert.</c>, <c>transformer.</c>).
    /// Ignored when present: <c>position_ids</c> buffers, tied copies of the embeddings (<c>cls.predictions.decoder.*</c>,
    /// <c>lm_head.weight</c>), GPT-2's causal-mask buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>), a pooler the
    /// model doesn't have, and heads of another task (<c>cls.*</c>, <c>classifier.*</c>, <c>lm_head.*</c>).
    /// Allowed to be missing when the checkpoint is of another architecture: the model's head and pooler, which
    /// keep their fresh initialisation (a task head of another shape is replaced too).</summary>
    public static void LoadWeights(ITaskModel model, IReadOnlyDictionary<string, Tensor> weights, bool sameArchitecture)
    {
        var encoder = model.Config is Gpt2Config ? "transformer." : "bert.";
        var renamed = weights.ToDictionary(kv => Rename(kv.Key), kv => kv.Value);
        if (!renamed.Keys.Any(k => k.StartsWith(encoder, StringComparison.Ordinal)))
        {
            renamed = renamed.ToDictionary(kv => IsTaskHead(kv.Key) ? kv.Key : encoder + kv.Key, kv => kv.Value);
        }
        bool IsPooler(string key) => key.StartsWith(encoder + "pooler.", StringComparison.Ordinal);
        var targets = model.Module.state_dict();
        var loaded = new HashSet<string>();
        var unexpected = new List<string>();
        var mismatched = new List<string>();
        using (no_grad())
        {
            foreach (var (name, tensor) in renamed)
            {
                if (targets.TryGetValue(name, out var target))
                {
                    if (target.shape.SequenceEqual(tensor.shape))
                    {
                        target.copy_(tensor);
                        loaded.Add(name);
                    }
                    else if (sameArchitecture || !IsTaskHead(name))
                    {
                        mismatched.Add($"{name}: checkpoint [{string.Join(", ", tensor.shape)}], model [{string.Join(", ", target.shape)}]");
                    }
                }
                else if (!IsTaskHead(name) && !IsPooler(name) && !IsIgnorable(name))
                {
                    unexpected.Add(name);
                }
            }
        }
        var missing = targets.Keys.Where(k => !loaded.Contains(k) && (sameArchitecture || !(IsTaskHead(k) || IsPooler(k)))).ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            static string List(string what, List<string> keys) =>
                keys.Count == 0 ? "" : $" {what} ({keys.Count}): {string.Join(", ", keys.Take(8))}{(keys.Count > 8 ? ", …" : "")}.";
            throw new InvalidCheckpointException($"the checkpoint does not fit {model.Architecture}." +
                List("missing keys", missing) + List("unexpected keys", unexpected) + List("shape mismatches", mismatched));
        }
    }

    static bool IsTaskHead(string key) =>
        key.StartsWith("cls.", StringComparison.Ordinal) || key.StartsWith("classifier.", StringComparison.Ordinal)
        || key.StartsWith("lm_head.", StringComparison.Ordinal);

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
