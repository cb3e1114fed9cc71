using FineTuneService.Training.Models;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>GPT-2 against a written-out forward pass of Hugging Face's modeling_gpt2 (pre-LayerNorm blocks, Conv1D
/// as x·W + b with W [in, out], fused c_attn split q|k|v, softmax(q·kᵀ/√d) with a causal mask, tanh-GELU, tied head),
/// computed from the model's own state dict with plain tensor ops.</summary>
public class Gpt2ReferenceTests
{
    static Tensor LayerNorm(Tensor x, Dictionary<string, Tensor> w, string name) =>
        (x - x.mean([-1], keepdim: true)) / (x.var(-1, unbiased: false, keepdim: true) + 1e-5).sqrt() * w[name + ".weight"] + w[name + ".bias"];

    static Tensor Conv1D(Tensor x, Dictionary<string, Tensor> w, string name) => x.matmul(w[name + ".weight"]) + w[name + ".bias"];

    static Tensor GeluNew(Tensor x) => 0.5 * x * (1 + (Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x.pow(3))).tanh());

    static Tensor Reference(Dictionary<string, Tensor> w, Tensor ids, Gpt2Config c)
    {
        long t = ids.shape[1], e = c.NEmbd, heads = c.NHead, d = e / heads;
        var h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][arange(t)];
        var future = ones(t, t).triu(1).to(ScalarType.Bool);
        for (var i = 0; i < c.NLayer; i++)
        {
            var p = $"transformer.h.{i}.";
            var qkv = Conv1D(LayerNorm(h, w, p + "ln_1"), w, p + "attn.c_attn");
            Tensor Heads(int part) => qkv.narrow(-1, part * e, e).reshape(1, t, heads, d).transpose(1, 2);
            var scores = Heads(0).matmul(Heads(1).transpose(-1, -2)) / Math.Sqrt(d);
            var y = scores.masked_fill(future, float.NegativeInfinity).softmax(-1).matmul(Heads(2)).transpose(1, 2).reshape(1, t, e);
            h = h + Conv1D(y, w, p + "attn.c_proj");
            h = h + Conv1D(GeluNew(Conv1D(LayerNorm(h, w, p + "ln_2"), w, p + "mlp.c_fc")), w, p + "mlp.c_proj");
        }
        return LayerNorm(h, w, "transformer.ln_f").matmul(w["transformer.wte.weight"].t());
    }

    [Fact]
    public void LogitsMatchTheWrittenOutForwardPass()
    {
        var model = new Gpt2LMHeadModel(GoldenKeyTests.TinyGpt2, seed: 9);
        model.eval();
        using var noGrad = no_grad();
        // Larger than initial weights so that every block matters.
        foreach (var (_, p) in model.named_parameters())
        {
            p.mul_(5);
        }
        var ids = tensor(new long[,] { { 3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26 } });
        var expected = Reference(model.state_dict(), ids, GoldenKeyTests.TinyGpt2);
        var actual = model.forward(ids);
        var diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"max |diff| {diff:E2}");
        Assert.True(expected.std().item<float>() > 0.1, "the reference should not be trivially flat");
    }
}
