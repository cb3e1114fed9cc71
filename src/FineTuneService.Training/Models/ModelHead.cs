namespace FineTuneService.Training.Models;

/// <summary>One task model of a family: its Hugging Face class name and how to build it (a null seed leaves it
/// uninitialised, for a checkpoint to fill).</summary>
public sealed record ModelHead(string Architecture, ModelTask Task, Func<ModelConfig, long?, ITaskModel> Create);
