using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>Llama's and Qwen2's causal-LM graph with a key-value cache, in GPT-2's input and output names
/// (<see cref="Gpt2Onnx"/>; the past and present tensors hold the key/value heads, before grouped-query attention
/// repeats them). Positions continue from the past (past .. past + sequence - 1), as the torch engine's. Per layer, in
/// standard ops: RMSNorm (fp32) → q/k/v products (Qwen2's biases) → RoPE from the config's inverse frequencies
/// (rope_theta, rope_scaling) → past + new keys and values → each key/value head repeated for its query heads →
/// softmax(q·kᵀ/√d + causal and padding bias)·v → o_proj + residual; RMSNorm → down(silu(gate) · up) + residual;
/// then the final norm and lm_head (or the tied embeddings). The sequence classifiers' graph has no cache (inputs
/// <c>input_ids</c>, <c>attention_mask</c>) and reads <c>score</c> at each row's last real token: (batch, labels).</summary>
static class LlamaOnnx
{
    public static readonly string[] Architectures = ["LlamaForCausalLM", "Qwen2ForCausalLM", "LlamaForSequenceClassification", "Qwen2ForSequenceClassification"];

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (LlamaConfig)model.Config;
        var w = model.Module.state_dict();
        long h = c.NumAttentionHeads, kv = c.KeyValueHeads, d = c.HeadDim;

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var cached = model is ICausalLM;
        var mask = g.Input("attention_mask", DataType.Int64, "batch", cached ? "total_sequence" : "sequence");
        var pasts = cached ? Enumerable.Range(0, c.NumHiddenLayers).Select(i => (
            Key: g.Input(Gpt2Onnx.PastKey(i), DataType.Float, "batch", kv, "past_sequence", d),
            Value: g.Input(Gpt2Onnx.PastValue(i), DataType.Float, "batch", kv, "past_sequence", d))).ToArray() : null;

        var past = pasts is null ? g.Int64Scalar(0) : g.Op("Squeeze", g.Op("Shape", [pasts[0].Key], ("start", 2L), ("end", 3L)), g.Int64s(0));
        var sequence = g.Op("Squeeze", g.Op("Shape", [ids], ("start", 1L), ("end", 2L)), g.Int64s(0));
        var total = g.Op("Add", past, sequence);
        var positions = g.Op("Range", past, total, g.Int64Scalar(1)); // (S)

        var (cos, sin) = Angles(g, positions, "inv_freq", c.InverseFrequencies());

        // (B, 1, S, past + S): a query sees the keys at or before its place that are not padding, and always itself.
        var keyPlace = g.Op("Range", g.Int64Scalar(0), total, g.Int64Scalar(1)); // (T)
        var queryPlace = g.Op("Unsqueeze", positions, g.Int64s(1)); // (S, 1)
        var padding = g.Op("Unsqueeze", g.Op("Cast", [mask], ("to", (long)DataType.Bool)), g.Int64s(1, 2)); // (B, 1, 1, T)
        var allowed = g.Op("Or", g.Op("And", g.Op("LessOrEqual", keyPlace, queryPlace), padding), g.Op("Equal", keyPlace, queryPlace));
        var bias = g.Op("Where", allowed, g.Float(0), g.Float(-1e9f));

        var x = g.Op("Gather", g.Weight("embed_tokens", w["model.embed_tokens.weight"]), ids);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.", a = p + "self_attn.";
            var normed = RmsNorm(g, x, p + "input_layernorm", w, c.RmsNormEps);
            string Heads(string proj, long n) => g.Op("Transpose",
                [g.Op("Reshape", Projection(g, normed, a + proj, w), g.Int64s(0, 0, n, d))], ("perm", new long[] { 0, 2, 1, 3 })); // (B, n, S, d)
            var q = Rotate(g, Heads("q_proj", h), cos, sin, d);
            var (k, v) = (Rotate(g, Heads("k_proj", kv), cos, sin, d), Heads("v_proj", kv));
            if (pasts is not null)
            {
                k = g.Op("Concat", [pasts[i].Key, k], ("axis", 2L));
                v = g.Op("Concat", [pasts[i].Value, v], ("axis", 2L));
                g.Output(k, Gpt2Onnx.PresentKey(i), DataType.Float, "batch", kv, "total_sequence", d);
                g.Output(v, Gpt2Onnx.PresentValue(i), DataType.Float, "batch", kv, "total_sequence", d);
            }
            var context = Attention(g, q, Repeat(g, k, h / kv, h, d), Repeat(g, v, h / kv, h, d), bias, d, h * d);
            x = g.Op("Add", x, Projection(g, context, a + "o_proj", w));
            var normed2 = RmsNorm(g, x, p + "post_attention_layernorm", w, c.RmsNormEps);
            var swiglu = g.Op("Mul", g.Activation(Projection(g, normed2, p + "mlp.gate_proj", w), c.HiddenAct), Projection(g, normed2, p + "mlp.up_proj", w));
            x = g.Op("Add", x, Projection(g, swiglu, p + "mlp.down_proj", w));
        }
        var final = RmsNorm(g, x, "model.norm", w, c.RmsNormEps);
        if (!cached)
        {
            BertOnnx.LogitsOutput(g, g.LastRealToken(g.MatMul(final, "score", w["score.weight"].t()), mask), model);
            return;
        }
        var logits = w.TryGetValue("lm_head.weight", out var head)
            ? g.MatMul(final, "lm_head", head.t())
            : g.TiedHead(final, ids, "embed_tokens", null, c.HiddenSize, c.VocabSize);
        g.Output(logits, "logits", DataType.Float, "batch", "sequence", c.VocabSize);
    }

    /// <summary>RoPE's cos and sin (1, 1, S, d) at positions (S): position × inverse frequency, each frequency twice
    /// (rotate_half's layout).</summary>
    internal static (string Cos, string Sin) Angles(OnnxGraph g, string positions, string name, float[] inverseFrequencies)
    {
        var freqs = g.Op("Mul", g.Op("Unsqueeze", g.Op("Cast", [positions], ("to", (long)DataType.Float)), g.Int64s(1)),
            g.Weight(name, tensor(inverseFrequencies)));
        var angles = g.Op("Unsqueeze", g.Op("Concat", [freqs, freqs], ("axis", -1L)), g.Int64s(0, 1));
        return (g.Op("Cos", angles), g.Op("Sin", angles));
    }

    /// <summary>softmax(q·kᵀ/√d + bias)·v over (B, heads, S, d) queries and (B, heads, T, d) keys and values → (B, S, width).</summary>
    internal static string Attention(OnnxGraph g, string q, string k, string v, string bias, long headDim, long width)
    {
        var scores = g.Op("Add", g.Op("Mul", g.Op("MatMul", q, g.Op("Transpose", [k], ("perm", new long[] { 0, 1, 3, 2 }))),
            g.Float(1 / MathF.Sqrt(headDim))), bias);
        var context = g.Op("MatMul", g.Op("Softmax", [scores], ("axis", -1L)), v); // (B, heads, S, d)
        return g.Op("Reshape", g.Op("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 })), g.Int64s(0, 0, width));
    }

    /// <summary>x · Wᵀ (+ b where the checkpoint has one) for the Linear module named.</summary>
    internal static string Projection(OnnxGraph g, string x, string module, Dictionary<string, Tensor> w) =>
        w.TryGetValue(module + ".bias", out var b)
            ? g.Linear(x, OnnxGraph.Name(module, ""), w[module + ".weight"].t(), b)
            : g.MatMul(x, OnnxGraph.Name(module, "weight"), w[module + ".weight"].t());

    /// <summary>weight · x / √(mean(x²) + ε).</summary>
    static string RmsNorm(OnnxGraph g, string x, string module, Dictionary<string, Tensor> w, double eps)
    {
        var meanSquare = g.Op("ReduceMean", [g.Op("Mul", x, x)], ("axes", new long[] { -1 }), ("keepdims", 1L));
        var normed = g.Op("Div", x, g.Op("Sqrt", g.Op("Add", meanSquare, g.Float((float)eps))));
        return g.Op("Mul", normed, g.Weight(OnnxGraph.Name(module, "weight"), w[module + ".weight"]));
    }

    /// <summary>x · cos + rotate_half(x) · sin, rotate_half(x) = (−x₂, x₁) over the halves of the head dimension.</summary>
    internal static string Rotate(OnnxGraph g, string x, string cos, string sin, long d)
    {
        var halves = g.Node("Split", [x, g.Int64s(d / 2, d / 2)], outputCount: 2, attributes: ("axis", -1L));
        var rotated = g.Op("Concat", [g.Op("Neg", halves[1]), halves[0]], ("axis", -1L));
        return g.Op("Add", g.Op("Mul", x, cos), g.Op("Mul", rotated, sin));
    }

    /// <summary>(B, kv, T, d) → (B, kv · repeats, T, d), each key/value head repeated for its query heads (repeat_interleave).</summary>
    static string Repeat(OnnxGraph g, string x, long repeats, long heads, long d)
    {
        if (repeats == 1) return x;
        var shape = g.Op("Concat", [g.Op("Shape", [x], ("start", 0L), ("end", 2L)), g.Int64s(repeats), g.Op("Shape", [x], ("start", 2L))], ("axis", 0L));
        return g.Op("Reshape", g.Op("Expand", g.Op("Unsqueeze", x, g.Int64s(2)), shape), g.Int64s(0, heads, -1, d));
    }
}
