using System.ComponentModel.DataAnnotations;

namespace FineTuneService.Training.Data;

/// <summary>What an uploaded data file may hold (configuration section <c>Datasets</c>), checked by the inspection pass
/// as it streams: no line, field or document is held whole before its size is known, and a client that goes away
/// stops the pass (<see cref="Cancellation"/>).</summary>
public sealed class DataLimits
{
    public const string Section = "Datasets";

    /// <summary>The text a file may expand to (a gzip bomb stops here).</summary>
    [Range(1, long.MaxValue)] public long MaxUncompressedBytes { get; set; } = 8L << 30;
    /// <summary>Rows of a csv/tsv/jsonl file, lines of a txt corpus.</summary>
    [Range(1, long.MaxValue)] public long MaxRows { get; set; } = 10_000_000;
    /// <summary>Characters of one line (a jsonl record, a corpus line, a csv record outside quotes).</summary>
    [Range(1, int.MaxValue)] public int MaxLineChars { get; set; } = 1 << 20;
    /// <summary>Characters of one csv/tsv field.</summary>
    [Range(1, int.MaxValue)] public int MaxFieldChars { get; set; } = 100_000;
    /// <summary>Lines of one corpus document (documents are separated by blank lines).</summary>
    [Range(1, int.MaxValue)] public int MaxLinesPerDocument { get; set; } = 10_000;

    public CancellationToken Cancellation { get; init; }

    /// <summary>These limits, stopping when <paramref name="cancellation"/> fires.</summary>
    public DataLimits For(CancellationToken cancellation) => new()
    {
        MaxUncompressedBytes = MaxUncompressedBytes, MaxRows = MaxRows, MaxLineChars = MaxLineChars, MaxFieldChars = MaxFieldChars,
        MaxLinesPerDocument = MaxLinesPerDocument, Cancellation = cancellation,
    };

    public static readonly DataLimits None = new()
    {
        MaxUncompressedBytes = long.MaxValue, MaxRows = long.MaxValue, MaxLineChars = int.MaxValue, MaxFieldChars = int.MaxValue,
        MaxLinesPerDocument = int.MaxValue,
    };

    internal void CheckRows(long rows)
    {
        if (rows > MaxRows) throw new DataFormatException($"the file has more than {MaxRows} rows ({Section}:{nameof(MaxRows)})");
    }
}
