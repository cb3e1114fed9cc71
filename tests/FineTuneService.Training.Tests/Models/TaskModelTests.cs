using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>Task heads' losses against the formula computed by hand from their logits, and GPT-2's causality.</summary>
public class TaskModelTests
{
    static readonly Tensor Ids = tensor(new long[,] { { 2, 15, 40, 7, 9, 3 }, { 2, 8, 3, 0, 0, 0 } });
    static readonly Tensor Mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 0, 0, 0 } });

    static ModelOutput Run(ITaskModel model, Tensor? labels = null, Tensor? nsp = null)
    {
        model.Module.eval();
        return model.Forward(new Batch(Ids, Mask, zeros_like(Ids), labels, nsp));
    }

    static void Close(Tensor expected, Tensor actual) =>
        Assert.True(Math.Abs(expected.item<float>() - actual.item<float>()) < 1e-5, $"{expected.item<float>()} vs {actual.item<float>()}");

    /// <summary>Mean over non-ignored positions of -log softmax(logits)[label].</summary>
    static Tensor ManualCrossEntropy(Tensor logits, Tensor labels)
    {
        var flat = logits.reshape(-1, logits.shape[^1]).log_softmax(-1);
        var y = labels.reshape(-1);
        var keep = y.ne(-100);
        return -flat[keep].gather(1, y[keep].unsqueeze(1)).mean();
    }

    [Fact]
    public void SingleLabelLossIsCrossEntropyAndClassWeightsChangeIt()
    {
        var model = new BertForSequenceClassification(GoldenKeyTests.TinyBert with { ProblemType = ModelConfig.SingleLabel });
        var labels = tensor(new long[] { 2, 0 });
        var output = Run(model, labels);
        Assert.Equal([2L, 3L], output.Logits.shape);
        Close(ManualCrossEntropy(output.Logits, labels), output.Loss!);

        model.ClassWeights = [1f, 1f, 3f];
        var weighted = Run(model, labels).Loss!;
        var logp = output.Logits.log_softmax(-1);
        var expected = -(3 * logp[0, 2] + 1 * logp[1, 0]) / 4; // weighted mean, as PyTorch computes it
        Close(expected, weighted);
    }

    [Fact]
    public void MultiLabelLossIsBinaryCrossEntropyWithLogits()
    {
        var model = new BertForSequenceClassification(GoldenKeyTests.TinyBert with { ProblemType = ModelConfig.MultiLabel });
        var labels = tensor(new float[,] { { 1, 0, 1 }, { 0, 0, 1 } });
        var output = Run(model, labels);
        var p = output.Logits.sigmoid();
        Close(-(labels * p.log() + (1 - labels) * (1 - p).log()).mean(), output.Loss!);
    }

    [Fact]
    public void RegressionLossIsMeanSquaredError()
    {
        var model = new BertForSequenceClassification(GoldenKeyTests.TinyBert with
        {
            Id2Label = new Dictionary<int, string> { [0] = "LABEL_0" },
            Label2Id = null,
            ProblemType = null, // one label ⇒ regression
        });
        var labels = tensor(new float[] { 0.5f, -1.25f });
        var output = Run(model, labels);
        Assert.Equal([2L, 1L], output.Logits.shape);
        Close((output.Logits.squeeze(-1) - labels).pow(2).mean(), output.Loss!);
    }

    [Fact]
    public void TokenClassificationIgnoresMinus100()
    {
        var model = new BertForTokenClassification(GoldenKeyTests.TinyBert);
        var labels = tensor(new long[,] { { -100, 1, 2, -100, 0, -100 }, { -100, 2, -100, -100, -100, -100 } });
        var output = Run(model, labels);
        Assert.Equal([2L, 6L, 3L], output.Logits.shape);
        Close(ManualCrossEntropy(output.Logits, labels), output.Loss!);
    }

    [Fact]
    public void PreTrainingLossIsMaskedLmPlusNextSentence()
    {
        var model = new BertForPreTraining(GoldenKeyTests.TinyBert);
        var labels = full(2, 6, -100L, dtype: ScalarType.Int64);
        labels[0, 2] = tensor(40L);
        labels[1, 1] = tensor(8L);
        var nsp = tensor(new long[] { 0, 1 });
        var output = Run(model, labels, nsp);
        Assert.Equal([2L, 6L, 99L], output.Logits.shape);
        Assert.Equal([2L, 2L], output.NspLogits!.shape);
        Close(ManualCrossEntropy(output.Logits, labels) + ManualCrossEntropy(output.NspLogits, nsp), output.Loss!);

        var mlmOnly = new BertForMaskedLM(GoldenKeyTests.TinyBert);
        var mlm = Run(mlmOnly, labels);
        Close(ManualCrossEntropy(mlm.Logits, labels), mlm.Loss!);
    }

    [Fact]
    public void TiedDecoderUsesTheWordEmbeddings()
    {
        var model = new BertForMaskedLM(GoldenKeyTests.TinyBert);
        var before = Run(model).Logits;
        using (no_grad())
        {
            model.Module.state_dict()["bert.embeddings.word_embeddings.weight"][40].add_(1.0);
        }
        var after = Run(model).Logits;
        // The embedding row of token 40 feeds the decoder's column 40 at every position.
        Assert.True(after[0, 0, 40].item<float>() != before[0, 0, 40].item<float>());
    }

    [Fact]
    public void Gpt2OutputAtTDoesNotSeeLaterTokens()
    {
        var model = new Gpt2LMHeadModel(GoldenKeyTests.TinyGpt2, seed: 4);
        model.eval();
        using var noGrad = no_grad();
        var ids = tensor(new long[,] { { 5, 17, 3, 88, 42, 7, 19, 60 } });
        var changed = ids.clone();
        changed[0, 5] = tensor(99L);
        changed[0, 7] = tensor(1L);
        foreach (var mask in new Tensor?[] { null, ones_like(ids) })
        {
            var a = model.forward(ids, mask);
            var b = model.forward(changed, mask);
            Assert.True(a.narrow(1, 0, 5).allclose(b.narrow(1, 0, 5), rtol: 0, atol: 1e-6), "positions 0..4 changed");
            Assert.False(a.narrow(1, 5, 3).allclose(b.narrow(1, 5, 3), rtol: 0, atol: 1e-3), "positions 5..7 should change");
        }
        // The padding mask path matches the plain causal path, and a right-padded row keeps its real positions.
        Assert.True(model.forward(ids, null).allclose(model.forward(ids, ones_like(ids)), rtol: 0, atol: 1e-5));
        var padded = cat([ids.narrow(1, 0, 5), zeros(1, 3, ScalarType.Int64)], 1);
        var paddedMask = tensor(new long[,] { { 1, 1, 1, 1, 1, 0, 0, 0 } });
        Assert.True(model.forward(padded, paddedMask).narrow(1, 0, 5).allclose(model.forward(ids.narrow(1, 0, 5)), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Gpt2LossPredictsTheNextTokenIgnoringMinus100()
    {
        var model = new Gpt2LMHeadModel(GoldenKeyTests.TinyGpt2);
        var labels = Ids.clone();
        labels[1].narrow(0, 3, 3).fill_(-100);
        var output = Run(model, labels);
        Assert.Equal([2L, 6L, 101L], output.Logits.shape);
        Close(ManualCrossEntropy(output.Logits.narrow(1, 0, 5), labels.narrow(1, 1, 5)), output.Loss!);
    }

    [Fact]
    public void SameSeedSameWeightsOtherSeedOtherWeights()
    {
        var a = new BertForSequenceClassification(GoldenKeyTests.TinyBert, seed: 1).state_dict();
        var b = new BertForSequenceClassification(GoldenKeyTests.TinyBert, seed: 1).state_dict();
        var c = new BertForSequenceClassification(GoldenKeyTests.TinyBert, seed: 2).state_dict();
        Assert.All(a.Keys, k => Assert.True(a[k].eq(b[k]).all().item<bool>(), k));
        Assert.False(a["bert.encoder.layer.0.attention.self.query.weight"].eq(c["bert.encoder.layer.0.attention.self.query.weight"]).all().item<bool>());
        // Hugging Face init: LayerNorm 1/0, biases 0, padding row 0, weights N(0, 0.02).
        Assert.Equal(32f, a["bert.embeddings.LayerNorm.weight"].sum().item<float>());
        Assert.Equal(0f, a["bert.encoder.layer.1.output.dense.bias"].abs().sum().item<float>());
        Assert.Equal(0f, a["bert.embeddings.word_embeddings.weight"][0].abs().sum().item<float>());
        Assert.InRange(a["bert.embeddings.word_embeddings.weight"].std().item<float>(), 0.018, 0.022);
    }

    [Fact]
    public void InputsLongerThanThePositionTableAreRefused()
    {
        var bert = new BertForTokenClassification(GoldenKeyTests.TinyBert);
        var ids = ones(1, 65, ScalarType.Int64);
        Assert.Contains("max_position_embeddings (64)", Assert.Throws<ArgumentException>(() => bert.Forward(new Batch(ids, ones_like(ids)))).Message);
        var gpt2 = new Gpt2LMHeadModel(GoldenKeyTests.TinyGpt2);
        Assert.Contains("n_positions (48)", Assert.Throws<ArgumentException>(() => gpt2.forward(ones(1, 49, ScalarType.Int64))).Message);
    }
}
