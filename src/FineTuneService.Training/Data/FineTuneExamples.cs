using System.Globalization;
using System.Text;
using System.Text.Json;
using FineTuneService.Training.Models;
using FineTuneService.Training.Tokenization;

namespace FineTuneService.Training.Data;

/// <summary>Turns rows of a tabular dataset into tokenized fine-tune examples.
/// Labels: single-label classes and token tags are the column's distinct values, sorted (numerically when all are
/// integers, else ordinally) so id2label is stable. Multi-label cells hold a JSON array (["a","b"]) or '|'-separated
/// labels (a|b). Regression cells are numbers. Token classification: the text column holds the words and the label
/// column their IOB2 tags, each as a JSON array or space-separated; a word's tag goes on its first sub-token and
/// -100 elsewhere (or an I- tag on every sub-token with label_all_tokens).</summary>
public static class FineTuneExamples
{
    /// <summary>The sorted label set; for regression, empty once every label has parsed as a number.</summary>
    public static string[] Labels(IEnumerable<IReadOnlyDictionary<string, string>> rows, ColumnMap columns, LabelKind kind)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var row = 0;
        foreach (var r in rows)
        {
            var cell = Cell(r, columns.Label!, ++row);
            if (kind == LabelKind.Regression) Number(cell, row);
            else labels.UnionWith(kind == LabelKind.SingleLabel ? [cell.Trim()] : List(cell, row, kind == LabelKind.MultiLabel ? '|' : ' '));
        }
        labels.Remove("");
        return labels.All(l => long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            ? labels.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture)).ToArray()
            : labels.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The rows' examples, one by one as the rows stream in (a job writes them to its <see cref="FineTuneDataset"/> file).</summary>
    public static IEnumerable<FineTuneExample> Build(IEnumerable<IReadOnlyDictionary<string, string>> rows, ColumnMap columns, LabelKind kind,
        IReadOnlyList<string> labels, ITokenizer tokenizer, int maxLength, bool labelAllTokens = false)
    {
        var labelIds = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => (long)x.i, StringComparer.Ordinal);
        long Id(string label, int row) => labelIds.TryGetValue(label, out var id) ? id
            : throw new DataFormatException($"row {row}: label '{label}' does not occur in the training data");
        var number = 0;
        foreach (var r in rows)
        {
            number++;
            if (kind == LabelKind.Token)
            {
                yield return TokenExample(r, columns, number, tokenizer, maxLength, labels, Id, labelAllTokens);
                continue;
            }
            var e = tokenizer.Encode(Cell(r, columns.Text, number), columns.TextPair is null ? null : Cell(r, columns.TextPair, number), maxLength);
            var cell = Cell(r, columns.Label!, number);
            yield return kind switch
            {
                LabelKind.SingleLabel => new FineTuneExample(e.Ids, e.TypeIds, ClassId: Id(cell.Trim(), number)),
                LabelKind.MultiLabel => new FineTuneExample(e.Ids, e.TypeIds, Targets: MultiHot(List(cell, number, '|').Select(l => Id(l, number)), labels.Count)),
                _ => new FineTuneExample(e.Ids, e.TypeIds, Targets: [Number(cell, number)]),
            };
        }
    }

    static FineTuneExample TokenExample(IReadOnlyDictionary<string, string> r, ColumnMap columns, int row, ITokenizer tokenizer,
        int maxLength, IReadOnlyList<string> labels, Func<string, int, long> id, bool labelAllTokens)
    {
        var words = List(Cell(r, columns.Text, row), row, ' ');
        var tags = List(Cell(r, columns.Label!, row), row, ' ');
        if (words.Length != tags.Length)
            throw new DataFormatException($"row {row}: {words.Length} words but {tags.Length} tags");
        // Join the words with single spaces and map each token back to its word through the offsets.
        var text = new StringBuilder();
        var wordEnds = new int[words.Length];
        for (var w = 0; w < words.Length; w++)
        {
            if (w > 0) text.Append(' ');
            text.Append(words[w]);
            wordEnds[w] = text.Length;
        }
        var e = tokenizer.Encode(text.ToString(), maxLength: maxLength);
        var tokenLabels = new long[e.Length];
        var previousWord = -1;
        for (var t = 0; t < e.Length; t++)
        {
            tokenLabels[t] = FineTuneDataset.IgnoreIndex;
            if (e.WordIds[t] is null) continue;
            var word = Array.FindIndex(wordEnds, end => e.Offsets[t].Start < end);
            if (word != previousWord)
            {
                tokenLabels[t] = id(tags[word], row);
            }
            else if (labelAllTokens)
            {
                var tag = tags[word].StartsWith("B-", StringComparison.Ordinal) ? "I-" + tags[word][2..] : tags[word];
                tokenLabels[t] = labels.Contains(tag) ? id(tag, row) : id(tags[word], row);
            }
            previousWord = word;
        }
        return new FineTuneExample(e.Ids, e.TypeIds, TokenLabels: tokenLabels);
    }

    static string Cell(IReadOnlyDictionary<string, string> row, string column, int number) =>
        row.TryGetValue(column, out var value) ? value : throw new DataFormatException($"row {number} has no column '{column}'");

    /// <summary>A JSON array cell, or the cell split on <paramref name="separator"/>; items trimmed, empty ones dropped.</summary>
    static string[] List(string cell, int row, char separator)
    {
        var trimmed = cell.Trim();
        if (!trimmed.StartsWith('[')) return trimmed.Split(separator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        try
        {
            using var doc = JsonDocument.Parse(trimmed);
            return doc.RootElement.EnumerateArray()
                .Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()!.Trim() : x.GetRawText())
                .Where(x => x.Length > 0).ToArray();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new DataFormatException($"row {row}: '{Shorten(cell)}' is not a JSON array");
        }
    }

    static float Number(string cell, int row) =>
        float.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v
            : throw new DataFormatException($"row {row}: regression label '{Shorten(cell)}' is not a number");

    static float[] MultiHot(IEnumerable<long> ids, int count)
    {
        var hot = new float[count];
        foreach (var i in ids) hot[i] = 1;
        return hot;
    }

    static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
