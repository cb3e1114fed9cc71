using System.Text;
using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

public sealed class TabularDataTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("fts-tabular-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    [Fact]
    public void CsvQuotingHoldsDelimitersNewlinesAndQuotes()
    {
        var path = Write("a.csv", "text,label\r\n\"hello, \"\"world\"\"\nsecond line\",1\nplain,0\n");
        var rows = TabularData.ReadRows(path, "csv").ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("hello, \"world\"\nsecond line", rows[0]["text"]);
        Assert.Equal("0", rows[1]["label"]);
        Assert.Equal(["text", "label"], TabularData.Inspect(path, "csv").Columns);
        Assert.Equal(2, TabularData.Inspect(path, "csv").NumRows);
    }

    [Fact]
    public void TsvAndJsonLinesRead()
    {
        var tsv = Write("a.tsv", "sentence\tlabel\na, b\tpos\n");
        Assert.Equal("a, b", TabularData.ReadRows(tsv, "tsv").Single()["sentence"]);

        var jsonl = Write("a.jsonl", "{\"tokens\":[\"a\",\"b\"],\"label\":3}\n\n{\"tokens\":[],\"label\":\"x\"}\n");
        var summary = TabularData.Inspect(jsonl, "jsonl");
        Assert.Equal(["tokens", "label"], summary.Columns);
        Assert.Equal(2, summary.NumRows);
        Assert.Equal("[\"a\",\"b\"]", TabularData.ReadRows(jsonl, "jsonl").First()["tokens"]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("text,label\n", "no rows")]
    [InlineData("text,label\na,1\nb,2,3\n", "row 3 has 3 fields")]
    [InlineData("text,text\na,1\n", "twice")]
    [InlineData("text,label\n\"open,1\n", "not closed")]
    public void BadCsvIsExplained(string content, string expected)
    {
        var error = Assert.Throws<DataFormatException>(() => TabularData.Inspect(Write("bad.csv", content), "csv"));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void NonUtf8AndBinaryAreRefused()
    {
        var latin1 = Write("latin1.csv", [.. "text,label\ncaf"u8.ToArray(), 0xE9, .. ",1\n"u8.ToArray()]);
        Assert.Contains("not UTF-8", Assert.Throws<DataFormatException>(() => TabularData.Inspect(latin1, "csv")).Message);

        var binary = Write("bin.csv", [.. "text,label\n"u8.ToArray(), 0x00, 0x01, 0x02, .. ",1\n"u8.ToArray()]);
        Assert.Contains("binary", Assert.Throws<DataFormatException>(() => TabularData.Inspect(binary, "csv")).Message);

        var jsonl = Write("bad.jsonl", "{\"text\":\"a\"}\n[1,2]\n");
        Assert.Contains("line 2 is not a JSON object", Assert.Throws<DataFormatException>(() => TabularData.Inspect(jsonl, "jsonl")).Message);
    }
}
