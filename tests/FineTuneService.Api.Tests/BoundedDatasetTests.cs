using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace FineTuneService.Api.Tests;

/// <summary>Issue 12, item 4: an upload is bounded as its inspection streams — uncompressed bytes, rows, line and field
/// length, lines per document — each a 400 naming the limit and leaving nothing; <c>POST /jobs</c> checks what the upload
/// recorded instead of reading the data again.</summary>
public class BoundedDatasetTests(BoundedDatasetTests.Factory factory) : IClassFixture<BoundedDatasetTests.Factory>
{
    public sealed class Factory : SeededApiFactory
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Datasets:MaxUncompressedBytes"] = "1000000", ["Datasets:MaxRows"] = "1000", ["Datasets:MaxLineChars"] = "10000",
            ["Datasets:MaxFieldChars"] = "1000", ["Datasets:MaxLinesPerDocument"] = "100",
        };
    }

    readonly HttpClient client = factory.CreateClient();

    static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }

    public static TheoryData<string, string> Oversized => new()
    {
        { "a gzip that expands past the limit", "MaxUncompressedBytes" },
        { "more rows than the limit", "MaxRows" },
        { "a corpus with no blank lines", "MaxLinesPerDocument" },
        { "a line longer than the limit", "MaxLineChars" },
        { "a field longer than the limit", "MaxFieldChars" },
    };

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task Oversized_upload_is_a_400_naming_the_limit_and_leaves_nothing(string why, string limit)
    {
        var (content, name) = why switch
        {
            "a gzip that expands past the limit" => (Gzip(string.Concat(Enumerable.Repeat(new string('a', 9000) + "\n\n", 200))), "big.txt.gz"),
            "more rows than the limit" => (Gzip("text,label\n" + string.Concat(Enumerable.Range(0, 2000).Select(i => $"row {i},pos\n"))), "rows.csv.gz"),
            "a corpus with no blank lines" => (Gzip(string.Concat(Enumerable.Range(0, 500).Select(i => $"sentence {i} of one long document.\n"))), "corpus.txt.gz"),
            "a line longer than the limit" => (Gzip("{\"text\":\"" + new string('a', 20_000) + "\",\"label\":\"pos\"}\n"), "long.jsonl.gz"),
            _ => (Encoding.UTF8.GetBytes("text,label\n\"" + new string('a', 2000) + "\",pos\n"), "field.csv"),
        };
        var before = await factory.Db().Datasets.CountAsync();

        var response = await client.PostAsync("/datasets", DatasetTests.Upload(content, name));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "file");
        Assert.Contains("Datasets:" + limit, problem.GetProperty("errors").GetProperty("file")[0].GetString());
        Assert.Equal(before, await factory.Db().Datasets.CountAsync());
        Assert.Empty(factory.StoredFiles("tmp"));
    }

    [Fact]
    public async Task Post_jobs_checks_what_the_upload_recorded_without_reading_the_data()
    {
        var unseen = await SeededApiFactory.Created(client.PostAsync("/datasets", DatasetTests.Upload(
            Encoding.UTF8.GetBytes("text,label\ngood,pos\nbad,meh\n"), "unseen.csv")));
        var recorded = await factory.Db().Datasets.SingleAsync(d => d.Id == factory.TrainDatasetId);
        Assert.Equal(["neg", "pos"], recorded.ColumnValues!["label"]);
        // The data files go: a job is still checked (and accepted) from what their uploads recorded.
        File.Delete(Path.Combine(factory.StorageRoot, recorded.Path));
        var unseenPath = (await factory.Db().Datasets.SingleAsync(d => d.Id == unseen)).Path;
        File.Delete(Path.Combine(factory.StorageRoot, unseenPath));

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/jobs", factory.Spec())).StatusCode);
        var badValidation = TestData.FineTuneSpec(factory.TrainDatasetId, unseen, factory.ModelId);
        var problem = await (await client.PostAsJsonAsync("/jobs", badValidation)).AssertProblem(HttpStatusCode.BadRequest, "validation_dataset_id");
        Assert.Contains("meh", problem.GetProperty("errors").GetProperty("validation_dataset_id")[0].GetString());
    }
}
