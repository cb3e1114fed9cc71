using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>Token sequences right-padded to the longest on the host, row-major (rows × columns): ids filled with the
/// pad id, the attention mask 1 on real tokens, type ids 0 on padding. The one pad-and-mask of training batches and
/// inference forwards.</summary>
public sealed class PaddedRows
{
    readonly int[] lengths;

    PaddedRows(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int[] lengths, int columns)
    {
        (InputIds, AttentionMask, TokenTypeIds, this.lengths, Columns) = (inputIds, attentionMask, tokenTypeIds, lengths, columns);
        Tokens = lengths.Sum(l => (long)l);
    }

    public long[] InputIds { get; }

    public long[] AttentionMask { get; }

    public long[] TokenTypeIds { get; }

    public int Rows => lengths.Length;

    public int Columns { get; }

    /// <summary>Real (unpadded) tokens, counted on the host.</summary>
    public long Tokens { get; }

    /// <summary>Pads <paramref name="rows"/> sequences: <paramref name="ids"/>(row) and <paramref name="typeIds"/>(row), of equal length.</summary>
    public static PaddedRows Pad(int rows, Func<int, int[]> ids, Func<int, int[]> typeIds, int padId)
    {
        var lengths = new int[rows];
        for (var r = 0; r < rows; r++) lengths[r] = ids(r).Length;
        var columns = lengths.Max();
        var inputIds = new long[rows * columns];
        var mask = new long[inputIds.Length];
        var types = new long[inputIds.Length];
        Array.Fill(inputIds, padId);
        for (var r = 0; r < rows; r++)
        {
            var (rowIds, rowTypes) = (ids(r), typeIds(r));
            for (var t = 0; t < rowIds.Length; t++)
            {
                inputIds[r * columns + t] = rowIds[t];
                mask[r * columns + t] = 1;
                types[r * columns + t] = rowTypes[t];
            }
        }
        return new PaddedRows(inputIds, mask, types, lengths, columns);
    }

    /// <summary>A per-token array laid out like the rows: <paramref name="values"/>(row) on its tokens, <paramref name="fill"/> on padding.</summary>
    public long[] Align(Func<int, long[]> values, long fill)
    {
        var aligned = Filled(fill);
        for (var r = 0; r < Rows; r++) values(r).AsSpan(0, lengths[r]).CopyTo(aligned.AsSpan(r * Columns));
        return aligned;
    }

    /// <summary>A per-token array laid out like the rows, every element <paramref name="value"/>.</summary>
    public long[] Filled(long value)
    {
        var filled = new long[Rows * Columns];
        Array.Fill(filled, value);
        return filled;
    }

    /// <summary>The real tokens of <paramref name="row"/> in an array laid out like the rows.</summary>
    public Span<long> Row(long[] aligned, int row) => aligned.AsSpan(row * Columns, lengths[row]);

    /// <summary>A (rows, columns) int64 tensor of an array laid out like the rows.</summary>
    public Tensor ToTensor(long[] aligned) => tensor(aligned, [Rows, Columns]);

    /// <summary>The (B, T) batch of ids, mask and type ids, with the task's labels.</summary>
    public Batch ToBatch(Tensor? labels = null, Tensor? nextSentenceLabels = null) =>
        new(ToTensor(InputIds), ToTensor(AttentionMask), ToTensor(TokenTypeIds), labels, nextSentenceLabels) { Tokens = Tokens };
}
