using FineTuneService.Training;
using FineTuneService.Training.Inference;
using FineTuneService.Training.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace FineTuneService.Platform.Serving;

/// <summary>A bounded, least-recently-used set of loaded models. A model is loaded once however many requests
/// ask for it at the same time; an evicted model is disposed when its last lease ends.</summary>
public sealed class ModelCache(IOptions<InferenceOptions> options, ILogger<ModelCache> logger) : IDisposable
{
    readonly object gate = new();
    readonly Dictionary<Guid, Entry> entries = [];
    readonly LinkedList<Guid> recency = new();
    readonly torch.Device device = TorchDevices.Resolve(options.Value.Device);

    /// <summary>A lease on the cached model of <paramref name="id"/>, if it is loaded and its folder still exists.</summary>
    public ModelLease? TryAcquire(Guid id)
    {
        lock (gate)
        {
            if (!entries.TryGetValue(id, out var entry) || !Directory.Exists(entry.Dir))
            {
                return null;
            }
            return Lease(id, entry);
        }
    }

    /// <summary>A lease on the model of <paramref name="id"/>, loading it from <paramref name="dir"/> if needed;
    /// <paramref name="precision"/> is the registry's (an int8 model's matrix products are int8 on ONNX Runtime).</summary>
    public ModelLease Acquire(Guid id, string dir, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        ModelLease lease;
        lock (gate)
        {
            if (!entries.TryGetValue(id, out var entry) || entry.Dir != dir)
            {
                if (entry is not null)
                {
                    Remove(id, entry);
                }
                entry = new Entry(dir, new Lazy<LoadedModel>(() => Load(id, dir, precision)));
                entries[id] = entry;
                entry.Node = recency.AddFirst(id);
                while (entries.Count > options.Value.MaxLoadedModels)
                {
                    var oldest = recency.Last!.Value;
                    logger.LogInformation("Unloading model {ModelId}: the cache holds {MaxLoadedModels}", oldest, options.Value.MaxLoadedModels);
                    Remove(oldest, entries[oldest]);
                }
            }
            lease = Lease(id, entry);
        }
        try
        {
            _ = lease.Model;
            return lease;
        }
        catch
        {
            lease.Dispose();
            Evict(id);
            throw;
        }
    }

    /// <summary>Forgets a model (e.g. deleted); it is disposed once no request uses it.</summary>
    public void Evict(Guid id)
    {
        lock (gate)
        {
            if (entries.TryGetValue(id, out var entry))
            {
                Remove(id, entry);
            }
        }
    }

    LoadedModel Load(Guid id, string dir, OnnxPrecision precision)
    {
        var started = TimeProvider.System.GetTimestamp();
        var model = LoadedModel.Load(dir, device, options.Value.EngineKind, precision);
        model.MaxBatchTokens = options.Value.MaxBatchTokens;
        logger.LogInformation("Loaded model {ModelId} ({Kind}, {Precision}) on {Engine} ({Device}) in {ElapsedMs:F0} ms", id, model.Kind,
            precision, model.Engine, device, TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
        return model;
    }

    ModelLease Lease(Guid id, Entry entry)
    {
        recency.Remove(entry.Node!);
        recency.AddFirst(entry.Node!);
        entry.Users++;
        return new ModelLease(this, entry);
    }

    void Remove(Guid id, Entry entry)
    {
        entries.Remove(id);
        recency.Remove(entry.Node!);
        entry.Evicted = true;
        DisposeIfUnused(entry);
    }

    internal void Release(Entry entry)
    {
        lock (gate)
        {
            entry.Users--;
            DisposeIfUnused(entry);
        }
    }

    static void DisposeIfUnused(Entry entry)
    {
        if (entry.Evicted && entry.Users == 0 && entry.Model.IsValueCreated)
        {
            entry.Model.Value.Dispose();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var (id, entry) in entries.ToArray())
            {
                Remove(id, entry);
            }
        }
    }

    internal sealed class Entry(string dir, Lazy<LoadedModel> model)
    {
        public string Dir { get; } = dir;
        public Lazy<LoadedModel> Model { get; } = model;
        public LinkedListNode<Guid>? Node { get; set; }
        public int Users { get; set; }
        public bool Evicted { get; set; }
    }
}
