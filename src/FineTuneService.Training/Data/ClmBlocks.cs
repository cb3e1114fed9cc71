using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Data;

/// <summary>Causal-LM data as GPT-2 is trained: documents' token ids joined into one stream with an end-of-text token
/// after each document, cut into blocks of exactly <c>blockSize</c> tokens (the incomplete tail is dropped).</summary>
public static class ClmBlocks
{
    public static IEnumerable<int[]> Pack(IEnumerable<int[]> documents, int eosId, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 2);
        var block = new int[blockSize];
        var filled = 0;
        foreach (var document in documents)
        {
            foreach (var id in document.Append(eosId))
            {
                block[filled++] = id;
                if (filled < blockSize)
                    continue;
                yield return block;
                block = new int[blockSize];
                filled = 0;
            }
        }
    }

    /// <summary>Blocks as a batch: no padding, labels = input ids (the model shifts them by one position).</summary>
    public static Batch Collate(IReadOnlyList<int[]> blocks)
    {
        long[] shape = [blocks.Count, blocks[0].Length];
        var ids = blocks.SelectMany(b => b).Select(id => (long)id).ToArray();
        return new Batch(tensor(ids, shape), ones(shape, ScalarType.Int64), Labels: tensor(ids, shape)) { Tokens = ids.Length };
    }
}
