using System.Text.Json.Nodes;
using FineTuneService.Training.Checkpoints;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Checkpoints;

public sealed class SafeTensorsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("fts-safetensors-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Dictionary<string, Tensor> Sample() => new()
    {
        ["a.f32"] = randn(3, 5),
        ["b.f16"] = randn(4, 2).to(ScalarType.Float16),
        ["c.bf16"] = randn(7).to(ScalarType.BFloat16),
        ["d.i64"] = arange(12, dtype: ScalarType.Int64).reshape(3, 4),
        ["e.scalar"] = tensor(2.5f),
        ["f.empty"] = zeros(0, 3),
    };

    [Fact]
    public void RoundTripKeepsDtypesShapesValuesAndMetadata()
    {
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = Sample();
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        var loaded = SafeTensors.Load(path);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.dtype, loaded[name].dtype);
            Assert.Equal(t.shape, loaded[name].shape);
            Assert.True(t.eq(loaded[name]).all().item<bool>(), name);
        }
        Assert.Equal("pt", SafeTensors.ReadMetadata(path)["format"]);
        // The header is padded to 8 bytes, as the reference implementation writes it.
        var headerLength = BitConverter.ToUInt64(File.ReadAllBytes(path).AsSpan(0, 8));
        Assert.Equal(0UL, headerLength % 8);
    }

    [Fact]
    public void ReadsTheLayoutThePythonLibraryWrites()
    {
        // Written by hand: header {"x": F32 [2], "y": I64 [1]} followed by the little-endian bytes.
        var header = """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"__metadata__":{"format":"pt"}}"""u8.ToArray();
        var bytes = BitConverter.GetBytes((ulong)header.Length).Concat(header)
            .Concat(BitConverter.GetBytes(1.5f)).Concat(BitConverter.GetBytes(-2f)).Concat(BitConverter.GetBytes(42L)).ToArray();
        var path = Path.Combine(dir, "hand.safetensors");
        File.WriteAllBytes(path, bytes);

        var loaded = SafeTensors.Load(path);
        Assert.Equal([1.5f, -2f], loaded["x"].data<float>().ToArray());
        Assert.Equal(42L, loaded["y"].item<long>());
    }

    [Fact]
    public void LoadIntoFillsExistingTensorsInPlaceConvertingDtypes()
    {
        var path = Path.Combine(dir, "model.safetensors");
        var source = new Dictionary<string, Tensor> { ["w"] = randn(4, 3), ["h"] = randn(5).to(ScalarType.Float16) };
        SafeTensors.Save(path, source);
        var w = zeros(4, 3);
        var h = zeros(5); // float32 target for a float16 tensor
        var alias = w.view(12); // shares w's memory: proves the load was in place

        SafeTensors.LoadInto(path, new Dictionary<string, Tensor> { ["w"] = w, ["h"] = h });

        Assert.True(source["w"].eq(w).all().item<bool>());
        Assert.True(source["w"].reshape(12).eq(alias).all().item<bool>());
        Assert.True(source["h"].to(ScalarType.Float32).eq(h).all().item<bool>());
        var e = Assert.Throws<InvalidCheckpointException>(() => SafeTensors.LoadInto(path, new Dictionary<string, Tensor> { ["w"] = zeros(3, 4), ["x"] = zeros(1) }));
        Assert.Contains("missing [x]", e.Message);
        Assert.Contains("[h, w]", e.Message);
    }

    [Fact]
    public void ShardedIndexLoadsEveryShard()
    {
        var tensors = Sample();
        var first = tensors.Keys.Take(3).ToList();
        SafeTensors.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), first.ToDictionary(k => k, k => tensors[k]));
        SafeTensors.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), tensors.Keys.Skip(3).ToDictionary(k => k, k => tensors[k]));
        var weightMap = new JsonObject(tensors.Keys.Select(k => KeyValuePair.Create(k,
            (JsonNode?)(first.Contains(k) ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"))));
        var index = Path.Combine(dir, SafeTensors.IndexFileName);
        File.WriteAllText(index, new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());

        var loaded = SafeTensors.Load(index);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        Assert.True(tensors["d.i64"].eq(loaded["d.i64"]).all().item<bool>());
    }

    [Fact]
    public void PickledCheckpointIsRefusedWithAClearMessage()
    {
        var path = Path.Combine(dir, "pytorch_model.bin");
        File.WriteAllBytes(path, [0x80, 0x02]);
        var e = Assert.Throws<InvalidCheckpointException>(() => SafeTensors.Load(path));
        Assert.Contains("pickle", e.Message);
        Assert.Contains("safetensors", e.Message);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("huge header")]
    [InlineData("offsets past the end")]
    public void CorruptFilesAreRefused(string corruption)
    {
        var path = Path.Combine(dir, "bad.safetensors");
        byte[] Header(string json) => [.. BitConverter.GetBytes((ulong)json.Length), .. System.Text.Encoding.UTF8.GetBytes(json)];
        File.WriteAllBytes(path, corruption switch
        {
            "tiny" => [1, 2, 3],
            "huge header" => [.. BitConverter.GetBytes(1UL << 40), 0, 0],
            _ => [.. Header("""{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"""), 0, 0, 0, 0],
        });
        Assert.Throws<InvalidCheckpointException>(() => SafeTensors.Load(path));
    }
}
