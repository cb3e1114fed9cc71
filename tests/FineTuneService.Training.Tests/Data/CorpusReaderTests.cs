using System.IO.Compression;
using System.Text;
using FineTuneService.Training.Data;

namespace FineTuneService.Training.Tests.Data;

public sealed class CorpusReaderTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("corpus-");

    public void Dispose() => dir.Delete(recursive: true);

    string Write(string name, string text, bool gzip = false)
    {
        var path = Path.Combine(dir.FullName, name);
        using var file = File.Create(path);
        using var stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : (Stream)file;
        stream.Write(Encoding.UTF8.GetBytes(text));
        return path;
    }

    const string Text = "First line.\r\nSecond line.\n\n\n  Another document \n   \nLast one\n";

    [Fact]
    public void TextDocumentsAreSeparatedByBlankLines()
    {
        var documents = CorpusReader.ReadDocuments(Write("c.txt", Text), "txt").Select(d => d.Lines).ToList();

        Assert.Equal([["First line.", "Second line."], ["Another document"], ["Last one"]], documents);
        Assert.Equal(new CorpusStats(3, 4, Encoding.UTF8.GetByteCount(Text)), CorpusReader.Inspect(Write("d.txt", Text), "txt"));
    }

    [Fact]
    public void GzipIsRecognisedByItsContentAndCountedUncompressed()
    {
        var path = Write("data.txt", Text, gzip: true);

        Assert.Equal(CorpusReader.ReadDocuments(Write("plain.txt", Text), "txt").Select(d => d.Lines),
            CorpusReader.ReadDocuments(path, "txt").Select(d => d.Lines));
        Assert.Equal(new CorpusStats(3, 4, Encoding.UTF8.GetByteCount(Text)), CorpusReader.Inspect(path, "txt"));
    }

    [Fact]
    public void JsonLinesTakeTheTextFieldAndSplitItIntoLines()
    {
        var path = Write("c.jsonl.gz", "{\"body\": \"One.\\nTwo.\\n\\nThree.\", \"id\": 1}\n\n{\"body\": \"Solo\"}\n{\"body\": \"  \"}\n", gzip: true);

        var documents = CorpusReader.ReadDocuments(path, "jsonl", "body").Select(d => d.Lines).ToList();

        Assert.Equal([["One.", "Two.", "Three."], ["Solo"]], documents);
        Assert.Equal(2, CorpusReader.Inspect(path, "jsonl", "body").Documents);
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"body\": \"x\"}\n", "Line 2: no string field 'text'")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": 5}\n", "Line 2: no string field 'text'")]
    [InlineData("{\"text\": \"ok\"}\n\n[1, 2]\n", "Line 3: expected a JSON object")]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n", "Line 2: invalid JSON")]
    public void MalformedJsonLinesNameTheLine(string jsonl, string message)
    {
        var path = Write("bad.jsonl", jsonl);

        var error = Assert.Throws<InvalidDataException>(() => CorpusReader.Inspect(path, "jsonl"));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public void UnknownFormatIsRefused()
    {
        var path = Write("c.csv", "a,b\n");

        Assert.Throws<ArgumentException>(() => CorpusReader.ReadDocuments(path, "csv"));
        Assert.Throws<ArgumentException>(() => CorpusReader.Inspect(path, "csv"));
    }

    [Fact]
    public void HeldOutSplitIsDeterministicDisjointAndNearTheFraction()
    {
        var text = string.Join("\n\n", Enumerable.Range(0, 4000).Select(i => $"Document {i} first line.\nAnd its second line {i * 7}."));
        var path = Write("split.txt", text);

        var split = CorpusSplit.Of(CorpusReader.ReadDocuments(path, "txt"), 0.1);
        var train = split.Part(CorpusReader.ReadDocuments(path, "txt"), heldOut: false).Select(d => d.Lines[0]).ToList();
        var validation = split.Part(CorpusReader.ReadDocuments(path, "txt"), heldOut: true).Select(d => d.Lines[0]).ToList();
        var again = CorpusSplit.Of(CorpusReader.ReadDocuments(path, "txt"), 0.1).Part(CorpusReader.ReadDocuments(path, "txt"), heldOut: true)
            .Select(d => d.Lines[0]).ToList();

        Assert.Equal(validation, again);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(4000, train.Count + validation.Count);
        Assert.InRange(validation.Count / 4000.0, 0.08, 0.12);
    }
}
