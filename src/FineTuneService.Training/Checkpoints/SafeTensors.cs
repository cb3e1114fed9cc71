using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Checkpoints;

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
        return ReadHeader(file, path).Tensors;
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
        return ReadHeader(file, path).Metadata;
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

    const int MaxIndexBytes = 64 << 20;

    static List<StoredTensor> IndexShards(string indexPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var name = Path.GetFileName(indexPath);
        if (new FileInfo(indexPath).Length > MaxIndexBytes)
            throw new InvalidCheckpointException($"'{name}' is larger than {MaxIndexBytes >> 20} MiB");
        var weightMap = new Dictionary<string, string>();
        try
        {
            using var index = JsonDocument.Parse(File.ReadAllBytes(indexPath), new JsonDocumentOptions { MaxDepth = 8 });
            if (index.RootElement.ValueKind != JsonValueKind.Object || !index.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidCheckpointException($"'{name}' has no weight_map object");
            }

            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidCheckpointException($"'{name}': weight_map['{entry.Name}'] is not a file name");
                if (!weightMap.TryAdd(entry.Name, entry.Value.GetString()!))
                    throw new InvalidCheckpointException($"'{name}': weight_map names '{entry.Name}' twice");
            }
        }
        catch (JsonException e) { throw new InvalidCheckpointException($"'{name}' is not valid JSON: {e.Message}"); }
        if (weightMap.Count == 0) throw new InvalidCheckpointException($"'{name}': weight_map is empty");

        var tensors = new List<StoredTensor>();
        foreach (var shard in weightMap.GroupBy(kv => kv.Value, kv => kv.Key))
        {
            if (shard.Key.Length == 0 || Path.GetFileName(shard.Key) != shard.Key || !shard.Key.EndsWith(".safetensors", StringComparison.Ordinal))
                throw new InvalidCheckpointException($"'{name}': weight_map names an invalid shard file '{shard.Key}'");
            var shardPath = Path.Combine(dir, shard.Key);
            if (!File.Exists(shardPath))
                throw new InvalidCheckpointException($"'{name}': weight_map names '{shard.Key}', which is not among the files");
            var held = Index(shardPath).ToDictionary(t => t.Name);
            tensors.AddRange(shard.Select(tensor => held.TryGetValue(tensor, out var t) ? t
                : throw new InvalidCheckpointException($"'{name}': weight_map puts '{tensor}' in '{shard.Key}', which does not hold it")));
        }
        return tensors;
    }

    sealed record Header(List<StoredTensor> Tensors, Dictionary<string, string> Metadata);

    /// <summary>Reads and checks the whole header as the format's reference implementation does, with checked
    /// arithmetic: known dtypes, non-negative shapes whose byte size fits, each name once, string metadata, and
    /// data offsets that are in range, in order, non-overlapping and together cover the data exactly.</summary>
    static Header ReadHeader(SafeFileHandle file, string path)
    {
        var name = Path.GetFileName(path);
        InvalidCheckpointException Bad(string why) => new($"'{name}': {why}");
        Span<byte> lengthBytes = stackalloc byte[8];
        var fileLength = RandomAccess.GetLength(file);
        if (fileLength < 8 || RandomAccess.Read(file, lengthBytes, 0) != 8)
            throw Bad("too short to be a safetensors file");
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw Bad($"not a safetensors file (header length {headerLength})");
        var json = new byte[headerLength];
        if (RandomAccess.Read(file, json, 8) != json.Length) throw Bad("the header is cut short");
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        var tensors = new List<(StoredTensor Tensor, long Begin, long End)>();
        var metadata = new Dictionary<string, string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var header = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
            if (header.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the header is not a JSON object");
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name)) throw Bad($"the header names '{entry.Name}' twice");
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw Bad("__metadata__ is not an object");
                    foreach (var meta in entry.Value.EnumerateObject())
                    {
                        if (meta.Value.ValueKind != JsonValueKind.String) throw Bad($"__metadata__['{meta.Name}'] is not a string");
                        if (!metadata.TryAdd(meta.Name, meta.Value.GetString()!)) throw Bad($"__metadata__ names '{meta.Name}' twice");
                    }
                    continue;
                }
                tensors.Add(Entry(entry, path, dataStart, dataLength, Bad));
            }
        }
        catch (JsonException e) { throw Bad($"corrupt safetensors header: {e.Message}"); }

        long covered = 0;
        foreach (var (tensor, begin, end) in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (begin != covered)
                throw Bad(begin < covered ? $"the data of '{tensor.Name}' overlaps another tensor's" : $"bytes {covered}..{begin} before '{tensor.Name}' belong to no tensor");
            covered = end;
        }
        if (covered != dataLength) throw Bad($"the tensors cover {covered} of the {dataLength} data bytes");
        return new Header([.. tensors.Select(t => t.Tensor)], metadata);
    }

    static (StoredTensor Tensor, long Begin, long End) Entry(JsonProperty entry, string path, long dataStart, long dataLength, Func<string, InvalidCheckpointException> bad)
    {
        var name = entry.Name;
        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object) throw bad($"'{name}' is not a tensor entry");
        if (!value.TryGetProperty("dtype", out var dtypeNode) || dtypeNode.ValueKind != JsonValueKind.String)
            throw bad($"'{name}' has no dtype");
        var dtypeName = dtypeNode.GetString()!;
        if (!DTypes.TryGetValue(dtypeName, out var dtype))
            throw bad($"'{name}' has dtype {dtypeName}, which is not one of {string.Join(", ", DTypes.Keys)}");
        if (!value.TryGetProperty("shape", out var shapeNode) || shapeNode.ValueKind != JsonValueKind.Array)
            throw bad($"'{name}' has no shape");
        var shape = new long[shapeNode.GetArrayLength()];
        long bytes = ElementSize(dtype);
        var i = 0;
        foreach (var d in shapeNode.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var size) || size < 0)
                throw bad($"'{name}' has a shape that is not a list of non-negative integers");
            shape[i++] = size;
            try { bytes = checked(bytes * size); }
            catch (OverflowException) { throw bad($"the shape of '{name}' overflows"); }
        }
        if (!value.TryGetProperty("data_offsets", out var offsetsNode) || offsetsNode.ValueKind != JsonValueKind.Array
            || offsetsNode.GetArrayLength() != 2 || !offsetsNode[0].TryGetInt64(out var begin) || !offsetsNode[1].TryGetInt64(out var end))
        {
            throw bad($"'{name}' has no data_offsets [begin, end]");
        }

        if (begin < 0 || end < begin || end > dataLength)
            throw bad($"the data_offsets of '{name}' [{begin}, {end}] are outside the {dataLength} data bytes");
        if (end - begin != bytes)
            throw bad($"'{name}' is {dtypeName} [{string.Join(", ", shape)}] = {bytes} bytes, but its data_offsets span {end - begin}");
        return (new StoredTensor(name, dtype, shape, path, dataStart + begin), begin, end);
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
