using System.Text;
using System.Text.Json;

namespace FineTuneService.Training.Data;

/// <summary>Labelled datasets: csv and tsv (RFC 4180 quoting, header row) and jsonl (one object a line).
/// JSON values that are not strings keep their JSON text (numbers, lists of tags or labels).</summary>
public static class TabularData
{
    public static readonly IReadOnlyList<string> Formats = ["csv", "tsv", "jsonl"];

    public const int MaxRecordedValues = 1000;
    const int MaxRecordedValueChars = 200;

    /// <summary>Reads the whole file once, checking it within <paramref name="limits"/>: UTF-8, not binary, a header, at
    /// least one row, every row as wide as the header; records the distinct values of label-like columns.</summary>
    public static TabularSummary Inspect(string path, string format, DataLimits? limits = null)
    {
        limits ??= DataLimits.None;
        IReadOnlyList<string>? columns = null;
        Dictionary<string, HashSet<string>?>? values = null;
        long rows = 0;
        foreach (var row in Read(path, format, limits))
        {
            columns ??= row.Columns;
            values ??= columns.ToDictionary(c => c, HashSet<string>? (_) => new HashSet<string>(StringComparer.Ordinal));
            limits.CheckRows(++rows);
            foreach (var (column, value) in row.Values)
            {
                // A column with long or many values is text, not labels: it stops being recorded.
                if (values[column] is { } seen && (value.Length > MaxRecordedValueChars || seen.Add(value) && seen.Count > MaxRecordedValues))
                    values[column] = null;
            }
        }
        if (rows == 0) throw new DataFormatException("the file has a header but no rows");
        return new TabularSummary(columns!, rows,
            values!.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)[.. kv.Value!.Order(StringComparer.Ordinal)]));
    }

    public static IEnumerable<IReadOnlyDictionary<string, string>> ReadRows(string path, string format) =>
        Read(path, format).Select(row => row.Values);

    /// <summary>The file's text, decoded strictly: invalid UTF-8 or NUL characters are errors, not replacement characters.
    /// A gzip file is decompressed on the fly.</summary>
    public static TextReader OpenText(string path, DataLimits? limits = null) => StrictText(Compression.OpenDecompressed(path), limits);

    /// <summary>A stream's text, decoded as strictly as <see cref="OpenText"/> does, within <paramref name="limits"/>
    /// (uncompressed bytes, line length, cancellation); disposing the reader disposes the stream.</summary>
    public static TextReader StrictText(Stream stream, DataLimits? limits = null)
    {
        limits ??= DataLimits.None;
        return new StrictTextReader(new StreamReader(new CountingStream(stream, limits), new UTF8Encoding(false, throwOnInvalidBytes: true),
            detectEncodingFromByteOrderMarks: true), limits);
    }

    /// <summary>The uncompressed bytes read so far through a reader from <see cref="StrictText"/>.</summary>
    public static long BytesRead(TextReader reader) => reader is StrictTextReader strict ? strict.BytesRead : 0;

    sealed record Row(IReadOnlyList<string> Columns, IReadOnlyDictionary<string, string> Values);

    static IEnumerable<Row> Read(string path, string format, DataLimits? limits = null) => format switch
    {
        "csv" => ReadDelimited(path, ',', limits ?? DataLimits.None),
        "tsv" => ReadDelimited(path, '\t', limits ?? DataLimits.None),
        "jsonl" => ReadJsonLines(path, limits ?? DataLimits.None),
        _ => throw new DataFormatException($"'{format}' is not a tabular format; use one of {string.Join(", ", Formats)}"),
    };

    static IEnumerable<Row> ReadDelimited(string path, char delimiter, DataLimits limits)
    {
        using var reader = OpenText(path, limits);
        string[]? header = null;
        long line = 0;
        foreach (var record in Records(reader, delimiter, limits.MaxFieldChars))
        {
            line++;
            if (header is null)
            {
                header = record;
                if (header.Any(string.IsNullOrWhiteSpace)) throw new DataFormatException("the header has an empty column name");
                var duplicate = header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
                if (duplicate is not null) throw new DataFormatException($"the header names column '{duplicate.Key}' twice");
                continue;
            }
            if (record.Length == 1 && record[0].Length == 0) continue; // blank line
            if (record.Length != header.Length)
                throw new DataFormatException($"row {line} has {record.Length} fields, the header has {header.Length}");
            var values = new Dictionary<string, string>(header.Length);
            for (int i = 0; i < header.Length; i++) values[header[i]] = record[i];
            yield return new Row(header, values);
        }
        if (header is null) throw new DataFormatException("the file is empty");
    }

    /// <summary>RFC 4180 records: quoted fields may hold delimiters, newlines and doubled quotes.</summary>
    static IEnumerable<string[]> Records(TextReader reader, char delimiter, int maxFieldChars)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        int c;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            char ch = (char)c;
            if (quoted)
            {
                if (ch != '"')
                {
                    field.Append(ch);
                    if (field.Length > maxFieldChars)
                        throw new DataFormatException($"a field is longer than {maxFieldChars} characters ({DataLimits.Section}:{nameof(DataLimits.MaxFieldChars)})");
                    continue;
                }
                if (reader.Peek() == '"') { reader.Read(); field.Append('"'); continue; }
                quoted = false;
            }
            else if (ch == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (ch == delimiter) { fields.Add(field.ToString()); field.Clear(); }
            else if (ch == '\n' || ch == '\r')
            {
                if (ch == '\r' && reader.Peek() == '\n') reader.Read();
                fields.Add(field.ToString()); field.Clear();
                yield return fields.ToArray();
                fields.Clear();
                any = false;
            }
            else
            {
                field.Append(ch);
            }

            if (field.Length > maxFieldChars)
                throw new DataFormatException($"a field is longer than {maxFieldChars} characters ({DataLimits.Section}:{nameof(DataLimits.MaxFieldChars)})");
        }
        if (quoted) throw new DataFormatException("a quoted field is not closed before the end of the file");
        if (any) { fields.Add(field.ToString()); yield return fields.ToArray(); }
    }

    static IEnumerable<Row> ReadJsonLines(string path, DataLimits limits)
    {
        using var reader = OpenText(path, limits);
        string[]? columns = null;
        long line = 0;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument document;
            try { document = JsonDocument.Parse(text); }
            catch (JsonException e) { throw new DataFormatException($"line {line} is not valid JSON: {e.Message}"); }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw new DataFormatException($"line {line} is not a JSON object");
                var values = new Dictionary<string, string>();
                foreach (var p in document.RootElement.EnumerateObject())
                    values[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                columns ??= [.. values.Keys];
                if (values.Count != columns.Length || columns.Any(c => !values.ContainsKey(c)))
                    throw new DataFormatException($"line {line} has fields {string.Join(", ", values.Keys)}; the first line has {string.Join(", ", columns)}");
                yield return new Row(columns, values);
            }
        }
        if (columns is null) throw new DataFormatException("the file is empty");
    }

    /// <summary>Turns decoding failures and NUL characters into <see cref="DataFormatException"/>; a line longer than the
    /// limit is an error before it is held whole.</summary>
    sealed class StrictTextReader(StreamReader inner, DataLimits limits) : TextReader
    {
        public long BytesRead => ((CountingStream)inner.BaseStream).BytesRead;

        public override int Peek() => Guard(inner.Peek);
        public override int Read() => Guard(inner.Read);

        public override string? ReadLine()
        {
            try
            {
                if (limits.MaxLineChars == int.MaxValue)
                {
                    var line = inner.ReadLine();
                    return line is not null && line.Contains('\0') ? throw Binary() : line;
                }
                var text = new StringBuilder();
                int c;
                while ((c = inner.Read()) >= 0)
                {
                    if (c == '\n') return text.ToString();
                    if (c == '\r')
                    {
                        if (inner.Peek() == '\n') inner.Read();
                        return text.ToString();
                    }
                    if (c == 0) throw Binary();
                    if (text.Length == limits.MaxLineChars)
                        throw new DataFormatException($"a line is longer than {limits.MaxLineChars} characters ({DataLimits.Section}:{nameof(DataLimits.MaxLineChars)})");
                    text.Append((char)c);
                }
                return text.Length > 0 ? text.ToString() : null;
            }
            catch (DecoderFallbackException) { throw NotUtf8(); }
        }

        static int Guard(Func<int> read)
        {
            try
            {
                int c = read();
                return c == 0 ? throw Binary() : c;
            }
            catch (DecoderFallbackException) { throw NotUtf8(); }
        }

        static DataFormatException NotUtf8() => new("the file is not UTF-8 text");
        static DataFormatException Binary() => new("the file holds binary data (NUL bytes), not text");

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Counts the (uncompressed) bytes read through it, stopping at the limit or when cancelled.</summary>
    sealed class CountingStream(Stream inner, DataLimits limits) : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            limits.Cancellation.ThrowIfCancellationRequested();
            var n = inner.Read(buffer);
            BytesRead += n;
            if (BytesRead > limits.MaxUncompressedBytes)
                throw new DataFormatException($"the file expands to more than {limits.MaxUncompressedBytes} bytes ({DataLimits.Section}:{nameof(DataLimits.MaxUncompressedBytes)})");
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
