using System.Text;
using System.Text.Json;

namespace FineTuneService.Training.Data;

/// <summary>Streams corpus datasets document by document; nothing holds more than one document in memory.
/// Formats: <c>txt</c> (documents separated by blank lines, one sentence or paragraph per line) and <c>jsonl</c>
/// (one document per line, its text in a string field, split into lines at newlines). Either may be gzip-compressed:
/// <see cref="Compression"/> recognises it whatever the file name. Malformed input throws <see cref="InvalidDataException"/>
/// naming the line.</summary>
public static class CorpusReader
{
    public static readonly IReadOnlyList<string> Formats = ["txt", "jsonl"];

    public static IEnumerable<CorpusDocument> ReadDocuments(DataFile file, string textField = "text") =>
        ReadDocuments(file.Path, file.Format, textField);

    public static IEnumerable<CorpusDocument> ReadDocuments(string path, string format, string textField = "text")
    {
        RequireFormat(format);
        return Read(path, format, textField);
    }

    static IEnumerable<CorpusDocument> Read(string path, string format, string textField)
    {
        using var reader = new StreamReader(Compression.OpenDecompressed(path), Encoding.UTF8);
        foreach (var document in Parse(reader, format, textField))
            yield return document;
    }

    /// <summary>The inspection pass the platform runs on upload of a <c>txt</c>/<c>jsonl</c> corpus: counts documents,
    /// lines and uncompressed bytes in one streamed read, in constant memory. Decodes strictly: text that is not UTF-8
    /// or holds NUL characters throws <see cref="DataFormatException"/>. Throws <see cref="InvalidDataException"/>
    /// (message names the line) for a malformed jsonl corpus, <see cref="ArgumentException"/> for an unknown format.</summary>
    public static CorpusStats Inspect(string path, string format, string textField = "text", DataLimits? limits = null)
    {
        RequireFormat(format);
        limits ??= DataLimits.None;
        using var reader = TabularData.StrictText(Compression.OpenDecompressed(path), limits);
        long documents = 0, lines = 0;
        foreach (var document in Parse(reader, format, textField, limits.MaxLinesPerDocument))
        {
            documents++;
            lines += document.Lines.Count;
            limits.CheckRows(lines);
        }
        return new CorpusStats(documents, lines, TabularData.BytesRead(reader));
    }

    static void RequireFormat(string format)
    {
        if (!Formats.Contains(format))
            throw new ArgumentException($"Corpus format must be one of {string.Join(", ", Formats)}, not '{format}'.", nameof(format));
    }

    static IEnumerable<CorpusDocument> Parse(TextReader reader, string format, string textField, int maxLines = int.MaxValue) =>
        format == "txt" ? ReadText(reader, maxLines) : ReadJsonLines(reader, textField);

    static IEnumerable<CorpusDocument> ReadText(TextReader reader, int maxLines)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            var text = line.Trim();
            if (text.Length > 0)
            {
                if (lines.Count == maxLines)
                {
                    throw new DataFormatException($"a document has more than {maxLines} lines ({DataLimits.Section}:{nameof(DataLimits.MaxLinesPerDocument)}); " +
                        "separate documents with a blank line");
                }

                lines.Add(text);
                continue;
            }
            if (lines.Count == 0)
                continue;
            yield return new CorpusDocument(lines);
            lines = [];
        }
        if (lines.Count > 0)
            yield return new CorpusDocument(lines);
    }

    static IEnumerable<CorpusDocument> ReadJsonLines(TextReader reader, string textField)
    {
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            var lines = SplitLines(TextField(line, lineNumber, textField));
            if (lines.Count > 0)
                yield return new CorpusDocument(lines);
        }
    }

    static string TextField(string json, int lineNumber, string textField)
    {
        try
        {
            using var record = JsonDocument.Parse(json);
            if (record.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"Line {lineNumber}: expected a JSON object.");
            if (!record.RootElement.TryGetProperty(textField, out var text) || text.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"Line {lineNumber}: no string field '{textField}'.");
            return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Line {lineNumber}: invalid JSON ({e.Message}).", e);
        }
    }

    static List<string> SplitLines(string text) =>
        text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

}
