using FineTuneService.Training.Data;
using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Data;

public sealed class PretrainingEvaluationTests
{
    // Cross-entropy of one position's logits against one label.
    static double Loss(Tensor logits, int row, int position, long label) =>
        nn.functional.cross_entropy(logits[row, position].unsqueeze(0), tensor(new[] { label })).item<float>();

    [Fact]
    public void CountsMaskedTokensAndPairs()
    {
        // Two sequences of three tokens over a vocabulary of 4; logits favour token 1 everywhere but one position.
        var logits = full(2, 3, 4, 0f);
        logits[.., .., 1] = tensor(5f);
        logits[1, 2, 3] = tensor(9f);
        using var batch = new Batch(zeros(2, 3, ScalarType.Int64), ones(2, 3, ScalarType.Int64),
            Labels: tensor(new long[] { -100, 1, 2, 1, -100, 3 }, [2, 3]), NextSentenceLabels: tensor(new long[] { 0, 1 }));
        var evaluation = new PretrainingEvaluation(causal: false);

        evaluation.Add([0, 1], batch, new ModelOutput(null, logits, tensor(new float[] { 2, 1, 0, 3 }, [2, 2])));
        var metrics = evaluation.Metrics();

        Assert.Equal(3 / 4.0, metrics["mlm_accuracy"]);
        Assert.Equal(1.0, metrics["nsp_accuracy"]);
        var expectedLoss = (Loss(logits, 0, 1, 1) + Loss(logits, 0, 2, 2) + Loss(logits, 1, 0, 1) + Loss(logits, 1, 2, 3)) / 4;
        Assert.Equal(Math.Exp(expectedLoss), metrics["perplexity"], tolerance: 1e-4);
    }

    [Fact]
    public void CausalPredictsEveryNextToken()
    {
        var logits = full(1, 3, 4, 0f);
        logits[0, 0, 2] = tensor(5f); // after token 0 comes 2: right
        logits[0, 1, 0] = tensor(5f); // after token 1 comes 3: wrong
        using var batch = new Batch(tensor(new long[] { 1, 2, 3 }, [1, 3]), ones(1, 3, ScalarType.Int64), Labels: tensor(new long[] { 1, 2, 3 }, [1, 3]));
        var evaluation = new PretrainingEvaluation(causal: true);

        evaluation.Add([0], batch, new ModelOutput(null, logits));
        var metrics = evaluation.Metrics();

        Assert.Equal(["perplexity"], metrics.Keys);
        Assert.Equal(Math.Exp((Loss(logits, 0, 0, 2) + Loss(logits, 0, 1, 3)) / 2), metrics["perplexity"], tolerance: 1e-4);
    }
}
