using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Checkpoints;

/// <summary>One tensor of a safetensors file: its data lies at <paramref name="Offset"/> in <paramref name="File"/>.</summary>
public sealed record StoredTensor(string Name, ScalarType DType, long[] Shape, string File, long Offset);

/// <summary>A checkpoint file or folder that cannot be used: wrong format, corrupt, or not matching the model.</summary>
public sealed class InvalidCheckpointException(string message) : Exception(message);

/// <summary>The safetensors format: 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>), then raw bytes.
/// Tensors are read from the file straight into the memory of CPU tensors.</summary>
public static class SafeTensors
{
    public const string IndexFileName = "model.safetensors.index.json";
    const int MaxHeaderBytes = 100 << 20;
    const int ChunkBytes = 1 << 30;

    static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8, ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    /// <summary>Reads every tensor of a <c>.safetensors</c> file, or of all shards named by a
    /// <c>model.safetensors.index.json</c>. Pickled PyTorch files are refused.</summary>
    public static Dictionary<string, Tensor> Load(string path) => Index(path).ToDictionary(t => t.Name, Read);

    /// <summary>Reads the file straight into <paramref name="targets"/> (e.g. a module's state_dict()), which must
    /// match it name for name and shape for shape; no second copy of the weights is made.</summary>
    public static void LoadInto(string path, IReadOnlyDictionary<string, Tensor> targets)
    {
        var stored = Index(path);
        var missing = targets.Keys.Except(stored.Select(t => t.Name)).ToList();
        var unexpected = stored.Where(t => !targets.TryGetValue(t.Name, out var target) || !target.shape.SequenceEqual(t.Shape)).Select(t => t.Name).ToList();
        if (missing.Count + unexpected.Count > 0)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' does not match: missing [{string.Join(", ", missing)}], " +
                $"unexpected or of another shape [{string.Join(", ", unexpected)}]");
        }
        foreach (var t in stored)
        {
            ReadInto(t, targets[t.Name]);
        }
    }

    /// <summary>The tensors a <c>.safetensors</c> file or sharded index holds, without their data.</summary>
    public static IReadOnlyList<StoredTensor> Index(string path)
    {
        RefusePickle(path);
        if (path.EndsWith(".index.json", StringComparison.Ordinal))
        {
            return IndexShards(path);
        }
        using var file = File.OpenHandle(path);
        return ReadHeader(file, path);
    }

    public static Tensor Read(StoredTensor stored)
    {
        var t = empty(stored.Shape, stored.DType);
        ReadInto(stored, t);
        return t;
    }

    /// <summary>Fills <paramref name="target"/> (same shape) with the stored tensor: straight into its memory when it is
    /// a contiguous CPU tensor of the same dtype, else through a temporary and a converting copy.</summary>
    public static void ReadInto(StoredTensor stored, Tensor target)
    {
        using var noGrad = no_grad();
        if (target.device_type != DeviceType.CPU || target.dtype != stored.DType || !target.is_contiguous())
        {
            using var temp = Read(stored);
            target.copy_(temp);
            return;
        }
        using var file = File.OpenHandle(stored.File);
        ForEachChunk(target, (span, at) =>
        {
            var read = 0;
            while (read < span.Length)
            {
                var n = RandomAccess.Read(file, span[read..], stored.Offset + at + read);
                if (n == 0)
                {
                    throw new InvalidCheckpointException($"'{Path.GetFileName(stored.File)}' ends before the data of '{stored.Name}'");
                }
                read += n;
            }
        });
    }

    /// <summary>The <c>__metadata__</c> of a safetensors file (empty when it has none).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenHandle(path);
        var (header, _) = ReadHeaderJson(file, path);
        return header["__metadata__"] is JsonObject meta
            ? meta.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "")
            : [];
    }

    /// <summary>Writes tensors (any device; copied to CPU as needed) with an 8-byte aligned header.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
        }
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            var dtype = DTypes.FirstOrDefault(kv => kv.Value == t.dtype).Key
                ?? throw new ArgumentException($"Tensor '{name}' has dtype {t.dtype}, which safetensors cannot store");
            var bytes = t.numel() * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var padded = (json.Length + 7) / 8 * 8;
        var prefix = new byte[8 + padded];
        BitConverter.TryWriteBytes(prefix.AsSpan(0, 8), (ulong)padded);
        json.CopyTo(prefix, 8);
        prefix.AsSpan(8 + json.Length).Fill((byte)' ');

        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, prefix.Length + offset);
        RandomAccess.Write(file, prefix, 0);
        long position = prefix.Length;
        foreach (var name in names)
        {
            using var scope = NewDisposeScope();
            var t = tensors[name].detach().cpu().contiguous();
            ForEachChunk(t, (span, at) => RandomAccess.Write(file, span, position + at));
            position += t.numel() * t.ElementSize;
        }
    }

    static void RefusePickle(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".bin" or ".pt" or ".pth" or ".ckpt" or ".pkl")
        {
            throw new InvalidCheckpointException(
                $"'{Path.GetFileName(path)}' is a pickled PyTorch checkpoint, which is refused because unpickling runs arbitrary code. " +
                "Convert it to safetensors (e.g. `model.save_pretrained(dir, safe_serialization=True)`) and upload model.safetensors.");
        }
    }

    static List<StoredTensor> IndexShards(string indexPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var weightMap = JsonNode.Parse(File.ReadAllText(indexPath))?["weight_map"] as JsonObject
            ?? throw new InvalidCheckpointException($"'{Path.GetFileName(indexPath)}' has no weight_map");
        var tensors = new List<StoredTensor>();
        foreach (var shard in weightMap.GroupBy(kv => kv.Value?.GetValue<string>() ?? "", kv => kv.Key))
        {
            if (shard.Key.Length == 0 || Path.GetFileName(shard.Key) != shard.Key)
            {
                throw new InvalidCheckpointException($"weight_map names an invalid shard file '{shard.Key}'");
            }
            var held = Index(Path.Combine(dir, shard.Key)).ToDictionary(t => t.Name);
            tensors.AddRange(shard.Select(name => held.TryGetValue(name, out var t) ? t
                : throw new InvalidCheckpointException($"weight_map puts '{name}' in '{shard.Key}', which does not hold it")));
        }
        return tensors;
    }

    static (JsonObject Header, long DataStart) ReadHeaderJson(SafeFileHandle file, string path)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        var fileLength = RandomAccess.GetLength(file);
        if (fileLength < 8 || RandomAccess.Read(file, lengthBytes, 0) != 8)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' is too short to be a safetensors file");
        }
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' is not a safetensors file (header length {headerLength})");
        }
        var json = new byte[headerLength];
        RandomAccess.Read(file, json, 8);
        try
        {
            var header = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("header is not an object");
            return (header, 8 + (long)headerLength);
        }
        catch (JsonException e)
        {
            throw new InvalidCheckpointException($"'{Path.GetFileName(path)}' has a corrupt safetensors header: {e.Message}");
        }
    }

    static List<StoredTensor> ReadHeader(SafeFileHandle file, string path)
    {
        var (header, dataStart) = ReadHeaderJson(file, path);
        var dataLength = RandomAccess.GetLength(file) - dataStart;
        var entries = new List<StoredTensor>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }
            try
            {
                var dtypeName = node!["dtype"]!.GetValue<string>();
                var dtype = DTypes.TryGetValue(dtypeName, out var d) ? d
                    : throw new InvalidCheckpointException($"tensor '{name}' has unsupported dtype {dtypeName}");
                var shape = node["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
                if (shape.Any(s => s < 0) || offsets.Length != 2 || offsets[0] < 0 || offsets[1] > dataLength || offsets[1] - offsets[0] != expected)
                {
                    throw new InvalidCheckpointException($"tensor '{name}' has inconsistent shape/data_offsets");
                }
                entries.Add(new StoredTensor(name, dtype, shape, path, dataStart + offsets[0]));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or IndexOutOfRangeException)
            {
                throw new InvalidCheckpointException($"'{Path.GetFileName(path)}': malformed header entry '{name}'");
            }
        }
        return entries;
    }

    static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    delegate void ChunkAction(Span<byte> bytes, long offset);

    /// <summary>Visits the bytes of a contiguous CPU tensor in spans of at most 1 GiB (a span's length is an int).</summary>
    static void ForEachChunk(Tensor t, ChunkAction action)
    {
        var flat = t.view(-1);
        var total = flat.numel();
        if (total == 0)
        {
            return;
        }
        var perChunk = Math.Max(1, ChunkBytes / t.ElementSize);
        for (long start = 0; start < total; start += perChunk)
        {
            using var chunk = flat.narrow(0, start, Math.Min(perChunk, total - start));
            action(chunk.bytes, start * t.ElementSize);
        }
    }
}
