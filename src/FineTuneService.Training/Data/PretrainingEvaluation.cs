using FineTuneService.Training.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Data;

/// <summary>Pretraining metrics over an evaluation pass: <c>perplexity</c> (exp of the mean cross-entropy per predicted
/// token: the masked tokens, or every next token for causal LM), <c>mlm_accuracy</c> (masked tokens predicted
/// exactly) and <c>nsp_accuracy</c> (next-sentence labels predicted).</summary>
public sealed class PretrainingEvaluation(bool causal) : IEvaluation
{
    double lossSum;
    long tokens, tokensCorrect, pairs, pairsCorrect;

    public void Add(IReadOnlyList<int> indices, Batch batch, ModelOutput output)
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = causal
            ? (output.Logits[.., ..^1], batch.Labels![.., 1..])
            : (output.Logits, batch.Labels!);
        var vocab = logits.shape[^1];
        var flatLogits = logits.reshape(-1, vocab).to(ScalarType.Float32); // bf16 training evaluates bf16 logits
        var flatLabels = labels.reshape(-1);
        var predicted = flatLabels.ne(MlmCollator.IgnoreIndex);
        lossSum += F.cross_entropy(flatLogits, flatLabels, ignore_index: MlmCollator.IgnoreIndex, reduction: nn.Reduction.Sum).item<float>();
        tokens += predicted.sum().item<long>();
        tokensCorrect += flatLogits.argmax(-1).eq(flatLabels).logical_and(predicted).sum().item<long>();
        if (output.NspLogits is { } nsp && batch.NextSentenceLabels is { } nspLabels)
        {
            pairs += nspLabels.shape[0];
            pairsCorrect += nsp.argmax(-1).eq(nspLabels).sum().item<long>();
        }
    }

    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double> { ["perplexity"] = Math.Exp(lossSum / Math.Max(1, tokens)) };
        if (!causal)
            metrics["mlm_accuracy"] = tokensCorrect / (double)Math.Max(1, tokens);
        if (pairs > 0)
            metrics["nsp_accuracy"] = pairsCorrect / (double)pairs;
        return metrics;
    }
}
