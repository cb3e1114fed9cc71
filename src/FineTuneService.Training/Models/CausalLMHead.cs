using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>A decoder's language-model head: next-token logits from <see cref="forward"/>, which generation steps
/// with a cache; labels are the input ids (-100 = ignore) and the loss predicts token t+1 from positions ≤ t.</summary>
public abstract class CausalLMHead<TConfig>(string architecture, TConfig config) : TaskHead<TConfig>(architecture, config), ICausalLM
    where TConfig : ModelConfig
{
    /// <summary>input_ids (B, T); attention_mask (B, past + T) or null when nothing is padding; position_ids (B, T) or
    /// null for past..past+T-1; a cache for generation → next-token logits (B, T, V).</summary>
    public abstract Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null);

    public Tensor Step(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KvCache cache) => forward(inputIds, attentionMask, positionIds, cache);

    protected override Tensor Logits(Batch batch) => forward(batch.InputIds, batch.AttentionMask);

    protected override Tensor Loss(Tensor logits, Tensor labels) => ModelParts.NextTokenLoss(logits, labels);
}
