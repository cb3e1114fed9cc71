using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>A decoder that generates token by token: each step feeds only the new tokens and keeps the keys and
/// values of the earlier ones in a <see cref="KvCache"/>.</summary>
public interface ICausalLM : ITaskModel
{
    /// <summary>input_ids (B, T) of the new tokens, attention_mask (B, past + T) over the cache and them,
    /// position_ids (B, T); the cache grows by T → logits (B, T, V).</summary>
    Tensor Step(Tensor inputIds, Tensor attentionMask, Tensor positionIds, KvCache cache);
}
