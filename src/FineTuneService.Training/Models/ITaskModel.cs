using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>A model with a task head that the Trainer can train: parameters carry Hugging Face names.</summary>
public interface ITaskModel
{
    nn.Module Module { get; }
    /// <summary>The config it was built from (written to config.json on export).</summary>
    ModelConfig Config { get; }
    /// <summary>The Hugging Face class name, e.g. <c>BertForSequenceClassification</c> (config.json <c>architectures</c>).</summary>
    string Architecture { get; }
    ModelOutput Forward(Batch batch);
}
