using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>What every task model shares: its identity (config, Hugging Face class name) and one forward skeleton,
/// the head's logits and, when the batch has labels, the task's loss in one dispose scope. A family's head holds only
/// its modules (fields named like Hugging Face's keys) and <see cref="Logits"/>.</summary>
public abstract class TaskHead<TConfig> : nn.Module, ITaskModel where TConfig : ModelConfig
{
    protected TaskHead(string architecture, TConfig config) : base(architecture)
    {
        Architecture = architecture;
        Config = config;
    }

    public TConfig Config { get; }
    ModelConfig ITaskModel.Config => Config;
    public string Architecture { get; }
    public nn.Module Module => this;

    /// <summary>The head's logits, shaped as <see cref="ModelOutput"/> says.</summary>
    protected abstract Tensor Logits(Batch batch);

    /// <summary>Cross-entropy with -100 = ignored (token classification, masked LM); other tasks override it.</summary>
    protected virtual Tensor Loss(Tensor logits, Tensor labels) => ModelParts.CrossEntropy(logits, labels);

    public virtual ModelOutput Forward(Batch batch)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(batch);
        var loss = batch.Labels is { } labels ? Loss(logits, labels) : null;
        return new ModelOutput(loss?.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }
}
