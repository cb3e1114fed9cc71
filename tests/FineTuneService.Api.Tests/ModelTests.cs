using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

public class ModelTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    readonly HttpClient client = factory.CreateClient();
    static readonly string[] Files = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"];

    [Fact]
    public async Task Import_files_then_get_download_and_delete()
    {
        var response = await client.PostAsync("/models/import", TestData.ModelParts(TestData.TinyModel, Files));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var model = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("BertForMaskedLM", model.GetProperty("architecture").GetString());
        Assert.Equal("bert", model.GetProperty("model_type").GetString());
        Assert.Equal(JsonValueKind.Null, model.GetProperty("source_job_id").ValueKind);
        var id = model.GetProperty("id").GetString();

        var download = await client.GetAsync($"/models/{id}/download");
        Assert.Equal("application/zip", download.Content.Headers.ContentType?.MediaType);
        using (var zip = new ZipArchive(await download.Content.ReadAsStreamAsync()))
        {
            Assert.Equal(Files.Order(), zip.Entries.Select(e => e.Name).Order());
            using var weights = new MemoryStream();
            await zip.GetEntry("model.safetensors")!.Open().CopyToAsync(weights);
            Assert.Equal(File.ReadAllBytes(Path.Combine(TestData.TinyModel, "model.safetensors")), weights.ToArray());
        }

        var listed = await client.GetFromJsonAsync<JsonElement>("/models");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), m => m.GetProperty("id").GetString() == id);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/models/{id}")).StatusCode);
        await (await client.GetAsync($"/models/{id}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Empty(factory.StoredFiles(Path.Combine("models", Guid.Parse(id!).ToString("N"))));
    }

    [Theory]
    [InlineData("model.zip")]
    [InlineData("model.tar.gz")]
    public async Task Import_one_archive_of_a_folder(string archiveName)
    {
        var archive = new MemoryStream();
        if (archiveName.EndsWith(".zip"))
        {
            using var zip = new ZipArchive(archive, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var file in Files) zip.CreateEntryFromFile(Path.Combine(TestData.TinyModel, file), "tiny-bert/" + file);
            zip.CreateEntry("tiny-bert/README.md");
        }
        else
        {
            using var gzip = new GZipStream(archive, CompressionLevel.Fastest, leaveOpen: true);
            using var tar = new TarWriter(gzip);
            foreach (var file in Files) tar.WriteEntry(Path.Combine(TestData.TinyModel, file), "tiny-bert/" + file);
        }
        var form = new MultipartFormDataContent { { new ByteArrayContent(archive.ToArray()), "files", archiveName }, { new StringContent("tiny"), "name" } };

        var response = await client.PostAsync("/models/import", form);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var model = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("tiny", model.GetProperty("name").GetString());
        Assert.Equal(Files.Order(), model.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
    }

    public static TheoryData<string, string[]> BadImports => new()
    {
        { "pickled weights", ["config.json", "pytorch_model.bin", "vocab.txt"] },
        { "pickled weights beside safetensors", ["config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt"] },
        { "no config", ["model.safetensors", "vocab.txt"] },
        { "no weights", ["config.json", "vocab.txt"] },
        { "no tokenizer", ["config.json", "model.safetensors"] },
        { "weights that are not safetensors", ["config.json", "model.safetensors:garbage", "vocab.txt"] },
        { "config that is not JSON", ["config.json:garbage", "model.safetensors", "vocab.txt"] },
        { "nothing", [] },
    };

    [Theory]
    [MemberData(nameof(BadImports))]
    public async Task Bad_import_names_files_and_leaves_nothing_behind(string why, string[] parts)
    {
        var before = await factory.Db().Models.CountAsync();
        var form = new MultipartFormDataContent();
        foreach (var part in parts)
        {
            var name = part.Split(':')[0];
            var content = part.EndsWith(":garbage") || name == "pytorch_model.bin" ? "not what it claims"u8.ToArray()
                : File.ReadAllBytes(Path.Combine(TestData.TinyModel, name));
            form.Add(new ByteArrayContent(content), "files", name);
        }
        if (parts.Length == 0) form.Add(new StringContent("x"), "name");

        var response = await client.PostAsync("/models/import", form);

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "files");
        if (why.StartsWith("pickled")) Assert.Contains("pickle", problem.GetProperty("errors").GetProperty("files")[0].GetString());
        Assert.Equal(before, await factory.Db().Models.CountAsync());
        Assert.Empty(factory.StoredFiles("tmp"));
        Assert.Equal(before, Directory.Exists(Path.Combine(factory.StorageRoot, "models"))
            ? Directory.GetDirectories(Path.Combine(factory.StorageRoot, "models")).Length : 0);
    }
}
