using FineTuneService.TestData;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>Our BERT on the real MiniLM checkpoint against Hugging Face tokenizer ids and ONNX Runtime outputs, both
/// computed here from the package's original ONNX export (MiniLmReference).</summary>
public class BertParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    static readonly Lazy<IReadOnlyList<MiniLmReference.Case>> ReferenceCases = new(() =>
    {
        using var reference = new MiniLmReference();
        return reference.ParityCases();
    });

    static IReadOnlyList<MiniLmReference.Case> Cases() => ReferenceCases.Value;

    static BertModel LoadMiniLm()
    {
        var model = new BertModel(BertConfig.Load(Path.Combine(Fixtures.MiniLm, "config.json")));
        SafeTensors.LoadInto(Path.Combine(Fixtures.MiniLm, "model.safetensors"), model.state_dict()); // strict: every key, every shape
        model.eval();
        return model;
    }

    static double MaxDiff(Tensor actual, float[] expected)
    {
        using var e = tensor(expected).reshape(actual.shape);
        return (actual - e).abs().max().item<float>();
    }

    [Fact]
    public void EveryReferenceCaseMatchesOneByOne()
    {
        using var model = LoadMiniLm();
        using var noGrad = no_grad();
        var cases = Cases();
        Assert.Equal(14, cases.Count);
        double worstHidden = 0, worstPooled = 0;
        foreach (var c in cases)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(c.InputIds).unsqueeze(0);
            var (hidden, pooled) = model.forward(ids, ones_like(ids), tensor(c.TokenTypeIds).unsqueeze(0));
            var dh = MaxDiff(hidden.squeeze(0), c.LastHiddenState);
            var dp = MaxDiff(pooled!.squeeze(0), c.PoolerOutput);
            Assert.True(dh < Tolerance && dp < Tolerance, $"'{c.Text}': last_hidden_state diff {dh:E2}, pooler_output diff {dp:E2}");
            worstHidden = Math.Max(worstHidden, dh);
            worstPooled = Math.Max(worstPooled, dp);
        }
        output.WriteLine($"max |diff| over {cases.Count} cases: last_hidden_state {worstHidden:E2}, pooler_output {worstPooled:E2}");
    }

    [Fact]
    public void PaddedBatchMatchesOnRealTokens()
    {
        using var model = LoadMiniLm();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var cases = Cases();
        var t = cases.Max(c => c.InputIds.Length);
        var ids = zeros(cases.Count, t, ScalarType.Int64);
        var types = zeros(cases.Count, t, ScalarType.Int64);
        var mask = zeros(cases.Count, t, ScalarType.Int64);
        for (var i = 0; i < cases.Count; i++)
        {
            var n = cases[i].InputIds.Length;
            ids[i].narrow(0, 0, n).copy_(tensor(cases[i].InputIds));
            types[i].narrow(0, 0, n).copy_(tensor(cases[i].TokenTypeIds));
            mask[i].narrow(0, 0, n).fill_(1);
        }
        var (hidden, pooled) = model.forward(ids, mask, types);
        double worst = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var n = cases[i].InputIds.Length;
            worst = Math.Max(worst, Math.Max(MaxDiff(hidden[i].narrow(0, 0, n), cases[i].LastHiddenState), MaxDiff(pooled![i], cases[i].PoolerOutput)));
        }
        output.WriteLine($"padded batch of {cases.Count} (T = {t}): max |diff| {worst:E2}");
        Assert.True(worst < Tolerance, $"max diff {worst:E2}");
    }
}
