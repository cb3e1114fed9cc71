using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

public class DatasetTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    readonly HttpClient client = factory.CreateClient();

    public static MultipartFormDataContent Upload(byte[] content, string fileName, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(content), "file", fileName } };
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    [Theory]
    [InlineData("reviews.csv", "text,label\n\"good, really\",pos\nbad,neg\nfine,pos\n", "csv")]
    [InlineData("reviews.tsv", "text\tlabel\ngood\tpos\nbad\tneg\nfine\tpos\n", "tsv")]
    [InlineData("reviews.jsonl", "{\"text\":\"good\",\"label\":\"pos\"}\n{\"text\":\"bad\",\"label\":\"neg\"}\n{\"text\":\"fine\",\"label\":\"pos\"}\n", "jsonl")]
    [InlineData("no-extension", "text,label\ngood,pos\nbad,neg\nfine,pos\n", "csv")]
    public async Task Upload_detects_format_columns_rows_and_hash(string fileName, string content, string format)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var response = await client.PostAsync("/datasets", Upload(bytes, fileName, ("name", "reviews")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(format, dataset.GetProperty("format").GetString());
        Assert.Equal(["text", "label"], dataset.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(3, dataset.GetProperty("num_rows").GetInt64());
        Assert.Equal(bytes.Length, dataset.GetProperty("size_bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), dataset.GetProperty("sha256").GetString());
        Assert.Equal("reviews", dataset.GetProperty("name").GetString());
        var id = dataset.GetProperty("id").GetString();
        Assert.Equal($"/datasets/{id}", response.Headers.Location?.OriginalString);

        var preview = await client.GetFromJsonAsync<JsonElement>($"/datasets/{id}/preview?rows=2");
        var rows = preview.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("bad", rows[1].GetProperty("text").GetString());

        var list = await client.GetFromJsonAsync<JsonElement>("/datasets");
        Assert.Contains(list.GetProperty("items").EnumerateArray(), d => d.GetProperty("id").GetString() == id);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/datasets/{id}")).StatusCode);
        await (await client.GetAsync($"/datasets/{id}")).AssertProblem(HttpStatusCode.NotFound);
        Assert.DoesNotContain(factory.StoredFiles("datasets"), f => f.Contains(Guid.Parse(id!).ToString("N")));
    }

    [Theory]
    [InlineData("corpus.txt.gz", "First document, line one.\nLine two.\n\n\nSecond document.\n \n\nThird: naïve café.\nIts second line.\nIts third.\n", 3L, 6L)]
    [InlineData("corpus.jsonl.gz", "{\"text\":\"One.\\nTwo.\",\"source\":\"a\"}\n{\"text\":\"Three.\",\"source\":\"b\"}\n", 2L, 3L)]
    [InlineData("mixed.jsonl", "{\"text\":\"One.\",\"n\":1}\n{\"text\":2,\"n\":2}\n", null, null)]
    [InlineData("reviews.csv", "text,label\ngood,pos\n", null, null)]
    public async Task Corpus_upload_reports_documents_lines_and_uncompressed_bytes(string fileName, string text, long? documents, long? lines)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var upload = fileName.EndsWith(".gz") ? Gzip(bytes) : bytes;

        var id = await SeededApiFactory.Created(client.PostAsync("/datasets", Upload(upload, fileName)));

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/datasets/{id}");
        long? Stat(string name) => dataset.GetProperty(name) is { ValueKind: not JsonValueKind.Null } value ? value.GetInt64() : null;
        Assert.Equal(documents, Stat("num_documents"));
        Assert.Equal(lines, Stat("num_lines"));
        Assert.Equal(documents is null ? null : bytes.Length, Stat("num_bytes"));
        Assert.Equal(upload.Length, dataset.GetProperty("size_bytes").GetInt64());
    }

    static byte[] Gzip(byte[] bytes)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal)) gzip.Write(bytes);
        return compressed.ToArray();
    }

    [Fact]
    public async Task Client_file_name_is_display_only()
    {
        var response = await client.PostAsync("/datasets", Upload("text\nhello there\nsecond line\n"u8.ToArray(), "../../etc/evil.txt"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("txt", dataset.GetProperty("format").GetString());
        var id = Guid.Parse(dataset.GetProperty("id").GetString()!).ToString("N");
        Assert.Equal([Path.Combine(factory.StorageRoot, "datasets", id, "data.txt")], factory.StoredFiles(Path.Combine("datasets", id)));
        Assert.False(File.Exists(Path.Combine(factory.StorageRoot, "..", "etc", "evil.txt")));

        // Downloaded as it was sent, under the client's name without its folders.
        var download = await client.GetAsync($"/datasets/{id}/download");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("text\nhello there\nsecond line\n", await download.Content.ReadAsStringAsync());
        Assert.Equal("evil.txt", download.Content.Headers.ContentDisposition?.FileName);
    }

    public static TheoryData<string, byte[], string, string> BadUploads => new()
    {
        { "empty", [], "data.csv", "file" },
        { "header only", "text,label\n"u8.ToArray(), "data.csv", "file" },
        { "ragged", "text,label\ngood,pos\nbad\n"u8.ToArray(), "data.csv", "file" },
        { "not UTF-8", [.. "text,label\ncaf"u8.ToArray(), 0xE9, .. ",pos\n"u8.ToArray()], "data.csv", "file" },
        { "binary", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D], "upload", "file" },
        { "unsupported kind", "PK\u0003\u0004 not really a spreadsheet"u8.ToArray(), "data.xlsx", "file" },
        { "bad json line", "{\"text\":\"a\",\"label\":1}\n{\"text\":\n"u8.ToArray(), "data.jsonl", "file" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Bad_upload_is_a_problem_and_leaves_nothing_behind(string why, byte[] content, string fileName, string field)
    {
        var before = await factory.Db().Datasets.CountAsync();

        var response = await client.PostAsync("/datasets", Upload(content, fileName));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, field);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("errors").GetProperty(field)[0].GetString()), why);
        await AssertNothingLeftBehind(before);
    }

    [Fact]
    public async Task Unsupported_format_field_names_format()
    {
        var before = await factory.Db().Datasets.CountAsync();
        var response = await client.PostAsync("/datasets", Upload("a,b\n1,2\n"u8.ToArray(), "data.csv", ("format", "parquet")));
        await response.AssertProblem(HttpStatusCode.BadRequest, "format");
        await AssertNothingLeftBehind(before);
    }

    [Fact]
    public async Task Upload_over_the_size_limit_is_413_and_leaves_nothing_behind()
    {
        var before = await factory.Db().Datasets.CountAsync();
        var row = "a fairly long sentence to fill the file,pos\n"u8.ToArray();
        var content = "text,label\n"u8.ToArray().Concat(Enumerable.Repeat(row, (int)(ApiFactory.MaxDatasetBytes / row.Length) + 1).SelectMany(r => r)).ToArray();
        Assert.True(content.Length > ApiFactory.MaxDatasetBytes);

        var response = await client.PostAsync("/datasets", Upload(content, "big.csv"));

        await response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "file");
        await AssertNothingLeftBehind(before);
    }

    [Fact]
    public async Task Upload_without_a_file_part_names_file()
    {
        var form = new MultipartFormDataContent { { new StringContent("x"), "name" } };
        await (await client.PostAsync("/datasets", form)).AssertProblem(HttpStatusCode.BadRequest, "file");
    }

    [Fact]
    public async Task Upload_that_is_not_multipart_is_415()
    {
        var content = new StringContent("text,label\na,b\n");
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await (await client.PostAsync("/datasets", content)).AssertProblem(HttpStatusCode.UnsupportedMediaType);
    }

    async Task AssertNothingLeftBehind(int rowsBefore)
    {
        Assert.Equal(rowsBefore, await factory.Db().Datasets.CountAsync());
        Assert.Empty(factory.StoredFiles("tmp"));
        var folders = Directory.Exists(Path.Combine(factory.StorageRoot, "datasets"))
            ? Directory.GetDirectories(Path.Combine(factory.StorageRoot, "datasets")).Length : 0;
        Assert.Equal(rowsBefore, folders);
    }
}
