using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 1: an import is sized and checked whole before it is accepted — a model that imports is one
/// that loads. Each unsound folder is a 400 naming its file, and leaves nothing behind.</summary>
public class BoundedImportTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    readonly HttpClient client = factory.CreateClient();
    static readonly string[] Files = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"];

    /// <summary>The tiny model's files with one replaced.</summary>
    static MultipartFormDataContent Folder(string replaced, byte[] content, params string[] extra)
    {
        var form = new MultipartFormDataContent();
        foreach (var name in Files.Concat(extra))
            form.Add(new ByteArrayContent(name == replaced ? content : File.ReadAllBytes(Path.Combine(TestData.TinyModel, name))), "files", name);
        return form;
    }

    static byte[] Config(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyModel, "config.json")))!.AsObject();
        edit(config);
        return Encoding.UTF8.GetBytes(config.ToJsonString());
    }

    /// <summary>The tiny model's safetensors with its header (as text) edited and <paramref name="extraData"/> bytes appended.</summary>
    static byte[] Weights(Func<string, string> editHeader, int extraData = 0)
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestData.TinyModel, "model.safetensors"));
        var length = (int)BitConverter.ToUInt64(bytes, 0);
        var header = Encoding.UTF8.GetBytes(editHeader(Encoding.UTF8.GetString(bytes, 8, length).TrimEnd()));
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. bytes.AsSpan(8 + length), .. new byte[extraData]];
    }

    static string EditTensor(string header, string name, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(header)!.AsObject();
        edit(json[name]!.AsObject());
        return json.ToJsonString();
    }

    const string Embedding = "bert.embeddings.word_embeddings.weight";
    const string LayerNormWeight = "bert.embeddings.LayerNorm.weight";
    const string LayerNormBias = "bert.embeddings.LayerNorm.bias";

    public static TheoryData<string, string, string> Unsound => new()
    {
        { "2000 layers", "config.json", "num_hidden_layers" },
        { "a layer more than the weights hold", "model.safetensors", "does not fit config.json" },
        { "overflowing shape", "model.safetensors", "overflows" },
        { "offsets past the data", "model.safetensors", "outside" },
        { "overlapping offsets", "model.safetensors", "overlaps" },
        { "bytes no tensor covers", "model.safetensors", "cover" },
        { "unknown dtype", "model.safetensors", "F8_E5M2" },
        { "a tensor named twice", "model.safetensors", "twice" },
        { "metadata that is not a string", "model.safetensors", "__metadata__" },
        { "tokenizer.json without a model", "tokenizer.json", "not a usable tokenizer" },
        { "more tokens than the embedding", "vocab.txt", "largest id" },
        { "a shard index naming a missing shard", "model.safetensors.index.json", "not among the files" },
    };

    MultipartFormDataContent UnsoundFolder(string why) => why switch
    {
        "2000 layers" => Folder("config.json", Config(c => c["num_hidden_layers"] = 2000)),
        "a layer more than the weights hold" => Folder("config.json", Config(c => c["num_hidden_layers"] = 3)),
        "overflowing shape" => Folder("model.safetensors", Weights(h => EditTensor(h, Embedding, t => t["shape"] = new JsonArray(1L << 40, 1L << 40)))),
        "offsets past the data" => Folder("model.safetensors", Weights(h => EditTensor(h, LayerNormBias, t =>
            t["data_offsets"] = new JsonArray(t["data_offsets"]![0]!.GetValue<long>() + (1L << 40), t["data_offsets"]![1]!.GetValue<long>() + (1L << 40))))),
        "overlapping offsets" => Folder("model.safetensors", Weights(h =>
        {
            var json = JsonNode.Parse(h)!.AsObject();
            json[LayerNormWeight]!["data_offsets"] = json[LayerNormBias]!["data_offsets"]!.DeepClone(); // the bias comes first
            return json.ToJsonString();
        })),
        "bytes no tensor covers" => Folder("model.safetensors", Weights(h => h, extraData: 16)),
        "unknown dtype" => Folder("model.safetensors", Weights(h => EditTensor(h, LayerNormBias, t => t["dtype"] = "F8_E5M2"))),
        "a tensor named twice" => Folder("model.safetensors", Weights(h =>
        {
            var entry = JsonNode.Parse(h)![LayerNormBias]!.ToJsonString();
            return h[..^1] + $",\"{LayerNormBias}\":{entry}}}";
        })),
        "metadata that is not a string" => Folder("model.safetensors", Weights(h =>
        {
            var json = JsonNode.Parse(h)!.AsObject();
            json["__metadata__"] = new JsonObject { ["format"] = 1 };
            return json.ToJsonString();
        })),
        "tokenizer.json without a model" => Folder("tokenizer.json", """{"x":1}"""u8.ToArray(), "tokenizer.json"),
        "more tokens than the embedding" => Folder("vocab.txt",
            [.. File.ReadAllBytes(Path.Combine(TestData.TinyModel, "vocab.txt")), .. "extra1\nextra2\n"u8.ToArray()]),
        "a shard index naming a missing shard" => Sharded(withSecondShard: false),
        _ => throw new ArgumentException(why),
    };

    /// <summary>The tiny model split into two shards by its index, optionally leaving the second shard out.</summary>
    static MultipartFormDataContent Sharded(bool withSecondShard)
    {
        var source = Path.Combine(TestData.TinyModel, "model.safetensors");
        var tensors = FineTuneService.Training.Checkpoints.SafeTensors.Load(source);
        var names = tensors.Keys.Order().ToList();
        var halves = new[] { names[..(names.Count / 2)], names[(names.Count / 2)..] };
        var dir = Directory.CreateTempSubdirectory("fts-shards-").FullName;
        var map = new JsonObject();
        var form = new MultipartFormDataContent();
        for (int i = 0; i < 2; i++)
        {
            var file = $"model-{i + 1:D5}-of-00002.safetensors";
            FineTuneService.Training.Checkpoints.SafeTensors.Save(Path.Combine(dir, file), halves[i].ToDictionary(n => n, n => tensors[n]));
            foreach (var name in halves[i]) map[name] = file;
            if (i == 0 || withSecondShard) form.Add(new ByteArrayContent(File.ReadAllBytes(Path.Combine(dir, file))), "files", file);
        }
        Directory.Delete(dir, recursive: true);
        form.Add(new StringContent(new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString()), "files", "model.safetensors.index.json");
        foreach (var name in Files.Where(f => f != "model.safetensors"))
            form.Add(new ByteArrayContent(File.ReadAllBytes(Path.Combine(TestData.TinyModel, name))), "files", name);
        return form;
    }

    [Theory]
    [MemberData(nameof(Unsound))]
    public async Task Unsound_import_is_a_400_naming_the_file_and_leaves_nothing(string why, string file, string reason)
    {
        var before = await factory.Db().Models.CountAsync();

        var response = await client.PostAsync("/models/import", UnsoundFolder(why));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "files");
        var message = problem.GetProperty("errors").GetProperty("files")[0].GetString()!;
        Assert.Contains(file, message);
        Assert.Contains(reason, message);
        Assert.DoesNotContain(factory.StorageRoot, message);
        Assert.Equal(before, await factory.Db().Models.CountAsync());
        Assert.Empty(factory.StoredFiles("tmp"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Sharded_weights_import_and_their_shards_are_kept()
    {
        var response = await client.PostAsync("/models/import", Sharded(withSecondShard: true));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var files = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("files").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.Contains("model-00002-of-00002.safetensors", files);
        Assert.Contains("model.safetensors.index.json", files);
    }
}
