using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Data;

/// <summary>Pads examples into a <see cref="Batch"/> and masks it afresh each time it is called (dynamic masking):
/// every maskable token is selected with <c>mlm_probability</c> — with whole-word masking every word is, and all
/// its tokens go together; a selected token becomes <c>[MASK]</c> 80% of the time, a random token 10%, and stays
/// 10%. Special tokens and padding are never selected. Labels hold the original id at selected positions and
/// -100 elsewhere; the batch carries next-sentence labels when the examples are pairs.</summary>
public sealed class MlmCollator(int vocabSize, int maskId, int padId, IReadOnlySet<int> specialIds,
    double mlmProbability = 0.15, bool wholeWordMask = false)
{
    public const int IgnoreIndex = -100;

    public Batch Collate(IReadOnlyList<PretrainingExample> examples, Random rng)
    {
        var rows = PaddedRows.Pad(examples.Count, r => examples[r].InputIds, r => examples[r].TokenTypeIds, padId);
        var labels = rows.Filled(IgnoreIndex);
        for (var r = 0; r < examples.Count; r++) Mask(examples[r], rows.Row(rows.InputIds, r), rows.Row(labels, r), rng);
        var nextSentence = examples[0].NextSentenceLabel >= 0
            ? tensor(examples.Select(e => (long)e.NextSentenceLabel).ToArray())
            : null;
        return rows.ToBatch(rows.ToTensor(labels), nextSentence);
    }

    void Mask(PretrainingExample example, Span<long> ids, Span<long> labels, Random rng)
    {
        var selected = false;
        for (var t = 0; t < example.Length; t++)
        {
            if (specialIds.Contains(example.InputIds[t]))
            {
                selected = false;
                continue;
            }
            // A token continuing a word shares the word's draw; otherwise each token draws for itself.
            var continuesWord = wholeWordMask && !example.WordStarts[t] && t > 0 && !specialIds.Contains(example.InputIds[t - 1]);
            if (!continuesWord)
                selected = rng.NextDouble() < mlmProbability;
            if (!selected)
                continue;
            labels[t] = example.InputIds[t];
            var roll = rng.NextDouble();
            if (roll < 0.8)
                ids[t] = maskId;
            else if (roll < 0.9)
                ids[t] = rng.Next(vocabSize);
        }
    }
}
