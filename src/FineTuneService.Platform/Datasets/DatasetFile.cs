using FineTuneService.Training.Data;

namespace FineTuneService.Platform.Datasets;

/// <summary>Works out what an uploaded data file is and checks that it can be trained on. Formats: csv, tsv, jsonl
/// (labelled rows, read by <see cref="TabularData"/>) and txt (a corpus, read by <see cref="CorpusReader"/>: documents
/// separated by blank lines, one text a line); any of them gzipped.</summary>
public static class DatasetFile
{
    public static readonly IReadOnlyList<string> Formats = [.. TabularData.Formats, "txt"];

    static readonly Dictionary<string, string> Extensions = new(StringComparer.OrdinalIgnoreCase)
    {
        [".csv"] = "csv", [".tsv"] = "tsv", [".tab"] = "tsv", [".jsonl"] = "jsonl", [".ndjson"] = "jsonl", [".txt"] = "txt",
    };

    /// <summary>An accepted upload, renamed to <c>data.&lt;format&gt;[.gz]</c> in its folder. <see cref="Corpus"/>: what
    /// it holds as a pretraining corpus (txt, or jsonl whose every line has a string <c>text</c>); null otherwise.</summary>
    public sealed record Inspection(string Format, string Path, IReadOnlyList<string> Columns, long NumRows, CorpusStats? Corpus,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? ColumnValues);

    /// <summary>Checks the uploaded file within <paramref name="limits"/> and renames it in place. Throws
    /// <see cref="DataFormatException"/> with a message for the user when the file cannot be used.</summary>
    public static Inspection Inspect(string uploadPath, string clientFileName, string? requestedFormat, DataLimits limits)
    {
        if (new FileInfo(uploadPath).Length == 0) throw new DataFormatException("the file is empty");
        var suffix = Compression.IsGzip(uploadPath) ? ".gz" : "";
        var folder = System.IO.Path.GetDirectoryName(uploadPath)!;
        var path = System.IO.Path.Combine(folder, "upload" + suffix);
        File.Move(uploadPath, path);

        var format = requestedFormat ?? FormatFromName(clientFileName) ?? Sniff(path, limits);
        if (!Formats.Contains(format))
            throw new DataFormatException($"'{format}' is not a supported format; use one of {string.Join(", ", Formats)}");
        CorpusStats? corpus;
        TabularSummary summary;
        if (format == "txt")
        {
            corpus = CorpusReader.Inspect(path, format, limits: limits);
            if (corpus.Lines == 0) throw new DataFormatException("the file holds only blank lines");
            summary = new TabularSummary(["text"], corpus.Lines);
        }
        else
        {
            summary = TabularData.Inspect(path, format, limits);
            corpus = format == "jsonl" && summary.Columns.Contains("text") ? JsonLinesCorpus(path, limits) : null;
        }
        var stored = System.IO.Path.Combine(folder, "data." + format + suffix);
        File.Move(path, stored);
        return new Inspection(format, stored, summary.Columns, summary.NumRows, corpus, summary.Values);
    }

    /// <summary>A checked jsonl file is a corpus when every line's <c>text</c> is a string.</summary>
    static CorpusStats? JsonLinesCorpus(string path, DataLimits limits)
    {
        try { return CorpusReader.Inspect(path, "jsonl", limits: limits); }
        catch (InvalidDataException) { return null; }
    }

    /// <summary>The first rows as column → value; a corpus line is <c>{"text": line}</c>.</summary>
    public static IEnumerable<IReadOnlyDictionary<string, string>> Rows(string path, string format) =>
        format == "txt" ? CorpusLines(path).Select(line => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { ["text"] = line })
            : TabularData.ReadRows(path, format);

    static string? FormatFromName(string clientFileName)
    {
        var name = clientFileName.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? clientFileName[..^3] : clientFileName;
        var extension = Path.GetExtension(name);
        if (extension.Length == 0) return null;
        return Extensions.TryGetValue(extension, out var format) ? format : extension.TrimStart('.').ToLowerInvariant();
    }

    /// <summary>No usable extension: the first non-blank line decides.</summary>
    static string Sniff(string path, DataLimits limits)
    {
        using var reader = TabularData.OpenText(path, limits);
        string? line;
        while ((line = reader.ReadLine()) is not null && string.IsNullOrWhiteSpace(line)) { }
        if (line is null) throw new DataFormatException("the file holds only blank lines");
        var trimmed = line.TrimStart();
        return trimmed.StartsWith('{') ? "jsonl" : line.Contains('\t') ? "tsv" : line.Contains(',') ? "csv" : "txt";
    }

    static IEnumerable<string> CorpusLines(string path)
    {
        using var reader = TabularData.OpenText(path);
        string? line;
        while ((line = reader.ReadLine()) is not null)
            if (!string.IsNullOrWhiteSpace(line)) yield return line;
    }
}
