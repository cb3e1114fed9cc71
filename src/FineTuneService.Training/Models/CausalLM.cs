using TorchSharp;
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

/// <summary>The keys and values of every layer for the tokens seen so far: (B, kv_heads, past, head_dim) each.</summary>
public sealed class KvCache : IDisposable
{
    readonly Dictionary<int, (Tensor Keys, Tensor Values)> layers = [];

    public long Length => layers.Count == 0 ? 0 : layers[0].Keys.shape[2];

    /// <summary>Appends a layer's new keys and values (B, kv_heads, T, head_dim) and returns all of them; the cache
    /// owns what it returns (it outlives every step's dispose scope).</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        if (layers.TryGetValue(layer, out var past))
        {
            keys = cat([past.Keys, keys], 2);
            values = cat([past.Values, values], 2);
            past.Keys.Dispose();
            past.Values.Dispose();
        }
        else
        {
            keys = keys.detach();
            values = values.detach();
        }
        keys.DetachFromDisposeScope();
        values.DetachFromDisposeScope();
        layers[layer] = (keys, values);
        return (keys, values);
    }

    public void Dispose()
    {
        foreach (var (k, v) in layers.Values)
        {
            k.Dispose();
            v.Dispose();
        }
        layers.Clear();
    }
}

static class CausalMask
{
    /// <summary>attention_mask (B, S) over past + new keys → (B, 1, T, S) bool for T new queries: a query sees the keys
    /// at or before its own place that are not padding, and always itself, so that no row is empty (NaNs).</summary>
    public static Tensor Build(Tensor attentionMask, long queries)
    {
        var s = attentionMask.shape[1];
        var past = s - queries;
        var device = attentionMask.device;
        var queryPlace = arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(1); // (T, 1)
        var keyPlace = arange(s, dtype: ScalarType.Int64, device: device).unsqueeze(0);        // (1, S)
        var causal = keyPlace <= queryPlace;
        var keys = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, 1, 1, S)
        return (causal & keys) | keyPlace.eq(queryPlace);
    }
}

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
