using FineTuneService.Training.Tokenization;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>A head's logits for one chunk of rows, turned into predictions, row by row.</summary>
static class HeadOutputs
{
    /// <summary>Probabilities (B, C) as the best label, every label's score and, for multi-label, the labels at or above 0.5.</summary>
    public static Prediction[] Classify(Tensor probabilities, IReadOnlyList<string> labels, bool multiLabel)
    {
        int classes = (int)probabilities.shape[1];
        var values = probabilities.cpu().data<float>().ToArray();
        return Enumerable.Range(0, (int)probabilities.shape[0]).Select(r =>
        {
            var row = values.AsSpan(r * classes, classes);
            int best = 0;
            var scores = new (string, float)[classes];
            for (int c = 0; c < classes; c++)
            {
                scores[c] = (labels[c], row[c]);
                if (row[c] > row[best])
                {
                    best = c;
                }
            }
            List<string>? chosen = null;
            if (multiLabel)
            {
                chosen = [];
                for (int c = 0; c < classes; c++)
                {
                    if (row[c] >= 0.5f)
                    {
                        chosen.Add(labels[c]);
                    }
                }
            }
            return (Prediction)new Prediction.Classification(labels[best], row[best], scores, chosen);
        }).ToArray();
    }

    public static Prediction[] Regress(Tensor logits) =>
        logits.reshape(-1).cpu().data<float>().ToArray().Select(v => (Prediction)new Prediction.Regression(v)).ToArray();

    /// <summary>Per-token logits (B, T, C) as entities: each token's most probable tag and its probability, grouped.</summary>
    public static Prediction[] Entities(Tensor logits, IReadOnlyList<EncodedInput> rows, IReadOnlyList<string> labels)
    {
        var (best, index) = logits.softmax(-1).max(-1);
        int width = (int)best.shape[1];
        var scores = best.cpu().data<float>().ToArray();
        var classes = index.cpu().data<long>().ToArray();
        return rows.Select((row, r) => (Prediction)new Prediction.Entities(EntityGrouping.Group(row,
            Enumerable.Range(0, row.Length).Select(t => labels[(int)classes[r * width + t]]).ToArray(),
            scores.AsSpan(r * width, row.Length).ToArray()))).ToArray();
    }

    /// <summary>Vocabulary logits (B, T, V) as the <paramref name="topK"/> most probable tokens at each [MASK].</summary>
    public static Prediction[] FillMasks(Tensor logits, IReadOnlyList<EncodedInput> rows, int maskId, int topK, ITokenizer tokenizer)
    {
        var positions = rows.SelectMany((e, r) => e.Encoding.Ids.Select((id, t) => (id, r, t)).Where(p => p.id == maskId).Select(p => (p.r, p.t))).ToArray();
        var rowIndex = tensor(positions.Select(p => (long)p.r).ToArray(), device: logits.device);
        var colIndex = tensor(positions.Select(p => (long)p.t).ToArray(), device: logits.device);
        int k = Math.Min(topK, (int)logits.shape[2]);
        var (values, indices) = logits[rowIndex, colIndex].softmax(-1).topk(k);
        var probs = values.cpu().data<float>().ToArray();
        var ids = indices.cpu().data<long>().ToArray();
        var masks = rows.Select(_ => new List<Prediction.MaskFill>()).ToArray();
        for (int p = 0; p < positions.Length; p++)
        {
            var candidates = new Prediction.MaskCandidate[k];
            for (int j = 0; j < k; j++)
            {
                int id = (int)ids[p * k + j];
                candidates[j] = new Prediction.MaskCandidate(tokenizer.Decode([id], skipSpecialTokens: false), id, probs[p * k + j]);
            }
            masks[positions[p].r].Add(new Prediction.MaskFill(positions[p].t, candidates));
        }
        return masks.Select(m => (Prediction)new Prediction.MaskFills(m)).ToArray();
    }
}
