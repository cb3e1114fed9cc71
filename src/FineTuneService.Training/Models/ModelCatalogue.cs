using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Models;

/// <summary>What a task model does: the heads a family offers, by the job task that trains them.</summary>
public enum ModelTask
{
    SequenceClassification,
    TokenClassification,
    MaskedLM,
    PreTraining,
    CausalLM,
}

/// <summary>One task model of a family: its Hugging Face class name and how to build it (a null seed leaves it
/// uninitialised, for a checkpoint to fill).</summary>
public sealed record ModelHead(string Architecture, ModelTask Task, Func<ModelConfig, long?, ITaskModel> Create);

/// <summary>A model family, as a Hugging Face <c>models/&lt;name&gt;/</c> folder plus its auto-mapping line: the
/// <c>config.json</c> <c>model_type</c>, its config record, the prefix its task models keep the base model under
/// (<c>bert.</c>, <c>model.</c>, …), the base model's class name (what a config without <c>architectures</c> is),
/// its task models, and the tokenizer kinds its checkpoints ship (for the README and errors).</summary>
public sealed record ModelFamily(
    string ModelType,
    Type ConfigType,
    string BasePrefix,
    string BaseArchitecture,
    IReadOnlyList<ModelHead> Heads,
    string Tokenizers)
{
    public bool IsDecoder => Heads.Any(h => h.Task == ModelTask.CausalLM);

    public string? ArchitectureFor(ModelTask task) => Heads.FirstOrDefault(h => h.Task == task)?.Architecture;

    /// <summary>A head whose constructor takes the family's own config record.</summary>
    public static ModelHead Head<TConfig>(string architecture, ModelTask task, Func<TConfig, long?, ITaskModel> create)
        where TConfig : ModelConfig => new(architecture, task, (config, seed) => create((TConfig)config, seed));
}

/// <summary>Every model family we build, one line each; a family's file holds its config, modules and heads.</summary>
public static class ModelCatalogue
{
    public static readonly IReadOnlyList<ModelFamily> Families =
    [
        BertConfig.Family,
        RobertaConfig.Family,
        XlmRobertaConfig.Family,
        DistilBertConfig.Family,
        ModernBertConfig.Family,
        Gpt2Config.Family,
        LlamaConfig.Family,
        Qwen2Config.Family,
    ];

    static readonly Dictionary<string, ModelFamily> ByModelType = Families.ToDictionary(f => f.ModelType);
    static readonly Dictionary<string, (ModelFamily Family, ModelHead Head)> ByArchitecture =
        Families.SelectMany(f => f.Heads.Select(h => (f, h))).ToDictionary(x => x.h.Architecture);

    public static IEnumerable<string> Architectures => ByArchitecture.Keys;

    public static ModelFamily? Find(string? modelType) => modelType is not null && ByModelType.TryGetValue(modelType, out var f) ? f : null;

    public static ModelFamily Of(ModelConfig config) => ByModelType[config.ModelType];

    /// <summary>The task model an architecture name builds, or null when we build none (a bare encoder, another family's class).</summary>
    public static ModelHead? Head(string? architecture) =>
        architecture is not null && ByArchitecture.TryGetValue(architecture, out var x) ? x.Head : null;

    public static ITaskModel Create(string architecture, ModelConfig config, long? seed)
    {
        if (!ByArchitecture.TryGetValue(architecture, out var entry) || entry.Family.ModelType != config.ModelType)
        {
            var family = Find(config.ModelType);
            throw new InvalidCheckpointException($"architecture '{architecture}' with model_type '{config.ModelType}' is not supported; name one of "
                + string.Join(", ", family?.Heads.Select(h => h.Architecture) ?? Architectures));
        }
        return entry.Head.Create(config, seed);
    }
}
