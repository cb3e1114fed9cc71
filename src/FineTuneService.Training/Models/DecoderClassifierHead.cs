using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

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
