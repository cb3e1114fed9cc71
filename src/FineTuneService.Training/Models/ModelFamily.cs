namespace FineTuneService.Training.Models;

/// <summary>A model family, as a Hugging Face <c>models/&lt;name&gt;/</c> folder plus its auto-mapping line: the
/// <c>config.json</c> <c>model_type</c>, its config record, the prefix its task models keep the base model under
/// (<c>bert.</c>, <c>model.</c>, …), the base model's class name (what a config without <c>architectures</c> is),
/// its task models, the tokenizer kinds its checkpoints ship (for the README and errors) and its ONNX graph.</summary>
public sealed record ModelFamily(
    string ModelType,
    Type ConfigType,
    string BasePrefix,
    string BaseArchitecture,
    IReadOnlyList<ModelHead> Heads,
    string Tokenizers)
{
    /// <summary>The family's ONNX graph, if it has one (<see cref="Inference.OnnxExport"/> builds it).</summary>
    internal FamilyGraph? Graph { get; init; }

    public string? ArchitectureFor(ModelTask task) => Heads.FirstOrDefault(h => h.Task == task)?.Architecture;

    /// <summary>A head whose constructor takes the family's own config record.</summary>
    public static ModelHead Head<TConfig>(string architecture, ModelTask task, Func<TConfig, long?, ITaskModel> create)
        where TConfig : ModelConfig => new(architecture, task, (config, seed) => create((TConfig)config, seed));
}
