using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>One padded batch. Shapes: (B, T) for ids and masks; labels are task-specific:
/// (B) int64 class ids, (B, C) float multi-hot, (B) float regression targets,
/// (B, T) int64 token labels / MLM labels with -100 = ignore; NextSentenceLabels (B) int64.</summary>
public sealed record Batch(
    Tensor InputIds,
    Tensor AttentionMask,
    Tensor? TokenTypeIds = null,
    Tensor? Labels = null,
    Tensor? NextSentenceLabels = null) : IDisposable
{
    public int Size => (int)InputIds.shape[0];

    /// <summary>Real (unpadded) tokens, counted by the collator on the host: the mask's sum would be a read of the
    /// device every step.</summary>
    public long Tokens { get; init; }

    public Batch To(Device device) => new(InputIds.to(device), AttentionMask.to(device), TokenTypeIds?.to(device),
        Labels?.to(device), NextSentenceLabels?.to(device))
    { Tokens = Tokens };

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds?.Dispose(); Labels?.Dispose(); NextSentenceLabels?.Dispose();
    }
}

/// <summary>What a task head returns: the loss when the batch has labels, and its logits
/// ((B, C) classification, (B) or (B, 1) regression, (B, T, C) token classification, (B, T, V) LM).
/// NspLogits: (B, 2) for BERT pretraining.</summary>
public sealed record ModelOutput(Tensor? Loss, Tensor Logits, Tensor? NspLogits = null);

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

/// <summary>A sequence classification model: single-label cross-entropy may weigh its classes.</summary>
public interface ISequenceClassifier : ITaskModel
{
    /// <summary>Per-class weights of the single-label cross-entropy (e.g. inverse frequencies); null = equal.</summary>
    float[]? ClassWeights { get; set; }
}

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

/// <summary>A sequence classifier's head: (B, C) logits, and the loss <c>problem_type</c> or the labels pick
/// (cross-entropy with optional class weights, BCE-with-logits, or MSE).</summary>
public abstract class SequenceClassifierHead<TConfig>(string architecture, TConfig config)
    : TaskHead<TConfig>(architecture, config), ISequenceClassifier where TConfig : ModelConfig
{
    public float[]? ClassWeights { get; set; }

    protected override Tensor Loss(Tensor logits, Tensor labels) => ModelParts.SequenceClassificationLoss(Config, logits, labels, ClassWeights);
}

/// <summary>dropout → <c>classifier</c> over every token's state, -100 = ignored: the token-classification head of
/// BERT, RoBERTa and DistilBERT. The family's class holds its base model under its Hugging Face name.</summary>
public abstract class TokenClassifierHead<TConfig> : TaskHead<TConfig> where TConfig : ModelConfig
{
    readonly Dropout dropout;
    readonly Linear classifier;

    protected TokenClassifierHead(string architecture, TConfig config, int hiddenSize, double dropoutP) : base(architecture, config)
    {
        dropout = nn.Dropout(dropoutP);
        classifier = nn.Linear(hiddenSize, config.NumLabels);
    }

    /// <summary>Draws the classifier (after the family's RegisterComponents).</summary>
    protected void InitializeClassifier(long? seed) => ModelParts.Initialize(classifier, Config.InitializerRange, seed);

    /// <summary>The base model's last hidden state (B, T, H).</summary>
    protected abstract Tensor Hidden(Batch batch);

    protected override Tensor Logits(Batch batch) => classifier.forward(dropout.forward(Hidden(batch))); // (B, T, C)
}

/// <summary><c>score</c> (no bias) read at each row's last real token, as Hugging Face's decoder
/// <c>…ForSequenceClassification</c> classes do (GPT-2, Llama, Qwen2). The family's class holds its base model.</summary>
public abstract class DecoderClassifierHead<TConfig> : SequenceClassifierHead<TConfig> where TConfig : ModelConfig
{
    readonly Linear score;

    protected DecoderClassifierHead(string architecture, TConfig config, int hiddenSize) : base(architecture, config) =>
        score = nn.Linear(hiddenSize, config.NumLabels, hasBias: false);

    /// <summary>The decoder's hidden states after its final norm (B, T, H).</summary>
    protected abstract Tensor Hidden(Batch batch);

    protected override Tensor Logits(Batch batch) => ModelParts.LastRealToken(score.forward(Hidden(batch)), batch.AttentionMask); // (B, C)
}
