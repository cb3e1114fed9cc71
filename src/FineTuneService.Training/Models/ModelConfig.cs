using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FineTuneService.Training.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>What every Hugging Face <c>config.json</c> carries; a family's record adds its shape.
/// Fields we don't model are kept in <see cref="Extra"/> and written back unchanged.</summary>
public abstract record ModelConfig
{
    public const string SingleLabel = "single_label_classification";
    public const string MultiLabel = "multi_label_classification";
    public const string Regression = "regression";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }
    [JsonPropertyName("model_type")] public abstract string ModelType { get; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("id2label")] public IReadOnlyDictionary<int, string>? Id2Label { get; init; }
    [JsonPropertyName("label2id")] public IReadOnlyDictionary<string, int>? Label2Id { get; init; }
    /// <summary><see cref="SingleLabel"/>, <see cref="MultiLabel"/> or <see cref="Regression"/>; null lets the labels decide, as in Hugging Face.</summary>
    [JsonPropertyName("problem_type")] public string? ProblemType { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>The most tokens one input may have: what the position embeddings (or RoPE table) cover.</summary>
    [JsonIgnore] public abstract int MaxPositions { get; }

    /// <summary>The ids that end a generated sequence (none for an encoder).</summary>
    [JsonIgnore] public virtual IReadOnlyList<int> EosTokenIds => [];

    /// <summary>The number of encoder or decoder blocks.</summary>
    [JsonIgnore] public abstract int NumLayers { get; }

    /// <summary>Hugging Face's default is two labels when the config names none.</summary>
    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;

    const long MaxFileBytes = 1 << 20;

    /// <summary>Reads a <c>config.json</c> as the family its <c>model_type</c> names.</summary>
    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' is missing");
        }
        if (new FileInfo(path).Length > MaxFileBytes)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' is larger than {MaxFileBytes >> 10} KiB; a config is a few KiB");
        }
        try
        {
            var text = File.ReadAllText(path);
            var modelType = JsonNode.Parse(text)?["model_type"]?.GetValue<string>();
            var family = ModelCatalogue.Find(modelType) ?? throw new InvalidCheckpointException(
                $"config.json model_type '{modelType}' is not supported ({string.Join(", ", ModelCatalogue.Families.Select(f => f.ModelType))})");
            var config = (ModelConfig)JsonSerializer.Deserialize(text, family.ConfigType, Json)!;
            config.Validate();
            return config;
        }
        // ArgumentException: a name given twice in one object.
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' is not a valid config: {e.Message}");
        }
    }

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, GetType(), Json));

    /// <summary>Throws <see cref="InvalidCheckpointException"/> when the labels are inconsistent or the shape cannot be built.</summary>
    public void Validate()
    {
        Require(ProblemType is null or SingleLabel or MultiLabel or Regression,
            $"problem_type '{ProblemType}' is not one of {SingleLabel}, {MultiLabel}, {Regression}");
        Require(Id2Label is null || Id2Label.Count > 0 && Id2Label.Keys.Order().SequenceEqual(Enumerable.Range(0, Id2Label.Count)),
            "id2label must number its labels 0..n-1");
        Require(Label2Id is null || Id2Label is not null && Label2Id.Count == Id2Label.Count
            && Label2Id.All(kv => Id2Label.TryGetValue(kv.Value, out var name) && name == kv.Key),
            "label2id must be the inverse of id2label");
        ValidateShape();
    }

    protected abstract void ValidateShape();

    /// <summary>This shape sized for a tokenizer: its vocabulary, padding and end-of-text ids (a pretraining job's
    /// from-scratch model).</summary>
    public abstract ModelConfig SizedFor(int vocabSize, int padId, int eosId);

    /// <summary>This config for a task model fine-tuned with a tokenizer that pads with <paramref name="padId"/>: a
    /// decoder's classifier reads the last real token, which Hugging Face finds by pad_token_id, so a decoder without
    /// one names it; an encoder keeps its own.</summary>
    public virtual ModelConfig ForClassifier(int padId) => this;

    /// <summary>Every size of the shape, for <see cref="ModelBudget"/>: layers, widths, heads, vocabularies, positions, labels.</summary>
    public abstract IEnumerable<ShapeDimension> Dimensions();

    /// <summary>The parameters of the largest model this config builds (encoder and its largest head), counted from the
    /// config alone; may throw <see cref="OverflowException"/> for absurd shapes.</summary>
    public abstract long ParameterCount();

    protected static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new InvalidCheckpointException($"config.json: {message}");
        }
    }
}

/// <summary>Pieces shared by the model families: activations and Hugging Face weight initialisation.</summary>
static class ModelParts
{
    public static Func<Tensor, Tensor> Activation(string name) => name switch
    {
        "gelu" => x => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => x => nn.functional.gelu(x, GELU.Approximate.tanh),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        _ => throw new InvalidCheckpointException($"config.json: activation '{name}' is not supported (gelu, gelu_new, relu, silu)"),
    };

    /// <summary>Hugging Face <c>_init_weights</c>: Linear/Conv1D/Embedding weights ~ N(0, std), biases 0,
    /// the padding row 0, LayerNorm 1/0; seeded so the same seed builds the same model. A null seed leaves the
    /// weights as constructed: a model about to be loaded from a checkpoint, which <paramref name="except"/> names —
    /// then only the modules whose weights the checkpoint did not fill (a new head, a missing pooler) are drawn.</summary>
    public static void Initialize(nn.Module module, double std, long? seed, IReadOnlySet<string>? except = null)
    {
        if (seed is null) return;
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed.Value);
        foreach (var (name, m) in module.named_modules().Prepend(("", module))) // named_modules() leaves out the module itself
        {
            if (except?.Contains(name.Length == 0 ? "weight" : name + ".weight") == true) continue;
            switch (m)
            {
                case Linear linear:
                    Normal(linear.weight!, std, generator);
                    linear.bias?.zero_();
                    break;
                case Conv1D conv:
                    Normal(conv.weight, std, generator);
                    conv.bias.zero_();
                    break;
                case Embedding embedding:
                    Normal(embedding.weight!, std, generator);
                    break;
                case LayerNorm norm:
                    norm.weight!.fill_(1.0);
                    norm.bias!.zero_();
                    break;
            }
        }
    }

    /// <summary>Fills with N(0, std²) drawn from <paramref name="generator"/> (nn.init.normal_ ignores its generator here).</summary>
    public static void Normal(Tensor weight, double std, Generator generator)
    {
        using var noGrad = no_grad();
        using var sample = randn(weight.shape, generator: generator);
        weight.copy_(sample.mul_(std));
    }

    /// <summary>The loss of a sequence classifier as Hugging Face picks it: <c>problem_type</c>, else one label means
    /// regression (MSE), integer labels single-label cross-entropy (with optional class weights), float labels multi-label BCE.</summary>
    public static Tensor SequenceClassificationLoss(ModelConfig config, Tensor logits, Tensor labels, float[]? classWeights)
    {
        logits = logits.to(ScalarType.Float32); // bf16 training computes the loss in float32, as autocast does
        var problem = config.ProblemType
            ?? (config.NumLabels == 1 ? ModelConfig.Regression
                : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? ModelConfig.SingleLabel : ModelConfig.MultiLabel);
        return problem switch
        {
            ModelConfig.Regression => nn.functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype).reshape(logits.shape[0])),
            ModelConfig.MultiLabel => nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)),
            _ => CrossEntropy(logits, labels, classWeights is { } w ? tensor(w, device: logits.device) : null),
        };
    }

    /// <summary>Throws when an input is longer than the positions the model embeds (the callers size inputs first).</summary>
    public static void RequireLength(long tokens, int maxPositions, string configKey)
    {
        if (tokens > maxPositions)
        {
            throw new ArgumentException($"{tokens} tokens exceed {configKey} ({maxPositions})", "inputIds");
        }
    }

    /// <summary>Multi-head attention of x (B, T, H) through its query, key and value projections, mask (B, 1, 1, T)
    /// bool, true = attend → the heads' context (B, T, H), before any output projection.</summary>
    public static Tensor SelfAttention(Tensor x, Linear query, Linear key, Linear value, int heads, Tensor mask, double dropoutP)
    {
        long b = x.shape[0], t = x.shape[1], h = x.shape[2];
        Tensor Split(Linear proj) => proj.forward(x).view(b, t, heads, h / heads).transpose(1, 2); // (B, heads, T, head_dim)
        var context = nn.functional.scaled_dot_product_attention(Split(query), Split(key), Split(value), mask, dropoutP);
        return context.transpose(1, 2).reshape(b, t, h);
    }

    /// <summary>Runs post-norm encoder layers; <paramref name="hiddenStates"/>, when given, receives each layer's output.</summary>
    public static Tensor Encode<TLayer>(IEnumerable<TLayer> layers, Tensor hidden, Tensor mask, List<Tensor>? hiddenStates)
        where TLayer : nn.Module<Tensor, Tensor, Tensor>
    {
        using var scope = NewDisposeScope();
        foreach (var layer in layers)
        {
            hidden = layer.forward(hidden, mask);
            hiddenStates?.Add(hidden.MoveToOuterDisposeScope());
        }
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Causal-LM loss: logits at t predict labels at t + 1 (-100 = ignore).</summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor labels)
    {
        var t = logits.shape[1];
        return CrossEntropy(logits.narrow(1, 0, t - 1), labels.narrow(1, 1, t - 1));
    }

    /// <summary>Each row's values (B, T, C) at its last position whose attention_mask is 1 → (B, C): a decoder's
    /// summary of the sequence, right- or left-padded.</summary>
    public static Tensor LastRealToken(Tensor values, Tensor attentionMask)
    {
        var t = attentionMask.shape[1];
        var last = (arange(t, dtype: ScalarType.Int64, device: attentionMask.device) * attentionMask.to(ScalarType.Int64)).argmax(-1);
        return values[arange(values.shape[0], dtype: ScalarType.Int64, device: values.device), last];
    }

    /// <summary>Cross-entropy over the last dimension, ignoring label -100 (padding, unmasked or non-first sub-tokens);
    /// in float32, also when the model computes in bf16 (as autocast runs the loss).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Tensor? weight = null) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), labels.reshape(-1), weight, ignore_index: -100);
}
