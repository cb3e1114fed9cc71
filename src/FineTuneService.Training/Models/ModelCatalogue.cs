using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Models;

/// <summary>Every model family we build, one line each; a family's folder (<c>Models/&lt;Family&gt;/</c>) holds its config,
/// modules, heads and ONNX graph, and its config's <c>Family</c> line names them.</summary>
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
