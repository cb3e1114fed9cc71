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
