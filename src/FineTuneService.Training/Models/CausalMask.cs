using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

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
