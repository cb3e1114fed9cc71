using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

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
