using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>dropout → <c>classifier</c> over every token's state, -100 = ignored: the token-classification head of
/// BERT, RoBERTa, XLM-R, DistilBERT and GPT-2. The family's class holds its base model under its Hugging Face name.</summary>
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
