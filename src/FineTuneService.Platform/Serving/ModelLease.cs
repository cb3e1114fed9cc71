using FineTuneService.Training.Inference;

namespace FineTuneService.Platform.Serving;

/// <summary>Use of a cached model for one request; disposing it lets an evicted model be unloaded.</summary>
public sealed class ModelLease : IDisposable
{
    readonly ModelCache cache;
    readonly ModelCache.Entry entry;
    int disposed;

    internal ModelLease(ModelCache cache, ModelCache.Entry entry)
    {
        this.cache = cache;
        this.entry = entry;
    }

    public LoadedModel Model => entry.Model.Value;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            cache.Release(entry);
        }
    }
}
