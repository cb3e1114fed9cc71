using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>ModernBERT's graph: tok_embeddings → norm; per layer attn_norm (none in layer 0) → one Wqkv product → RoPE
/// (global_rope_theta on global layers, local_rope_theta on the others) → attention over every real token (global) or
/// those within local_attention / 2 (local) → Wo + residual; mlp_norm → Wi → act(input) · gate → Wo + residual; then
/// final_norm and the head: head.dense → activation → head.norm → <c>classifier</c> over [CLS] (or the real tokens'
/// mean), per token, or the tied token embeddings + <c>decoder.bias</c>. Norms and products without biases where the
/// config has none. Inputs <c>input_ids</c>, <c>attention_mask</c> (batch, sequence) int64; output <c>logits</c> as
/// BERT's.</summary>
static class ModernBertOnnx
{
    public static readonly string[] Architectures =
    [
        nameof(ModernBertForSequenceClassification), nameof(ModernBertForTokenClassification), nameof(ModernBertForMaskedLM),
    ];

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (ModernBertConfig)model.Config;
        var w = model.Module.state_dict();
        long h = c.HiddenSize, n = c.NumAttentionHeads, d = c.HeadDim;

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "sequence");

        var sequence = g.Op("Squeeze", g.Op("Shape", [ids], ("start", 1L), ("end", 2L)), g.Int64s(0));
        var place = g.Op("Range", g.Int64Scalar(0), sequence, g.Int64Scalar(1)); // (S)
        var (row, column) = (g.Op("Unsqueeze", place, g.Int64s(1)), g.Op("Unsqueeze", place, g.Int64s(0)));
        var self = g.Op("Equal", row, column); // (S, S)
        var keys = g.Op("Unsqueeze", g.Op("Cast", [mask], ("to", (long)DataType.Bool)), g.Int64s(1, 2)); // (B, 1, 1, S)
        var window = g.Op("LessOrEqual", g.Op("Abs", g.Op("Sub", column, row)), g.Int64Scalar(c.LocalAttention / 2));
        string Bias(string allowed) => g.Op("Where", allowed, g.Float(0), g.Float(-1e9f));
        var globalBias = Bias(g.Op("Or", keys, self));
        var localBias = Bias(g.Op("Or", g.Op("And", keys, window), self));
        var globalRope = LlamaOnnx.Angles(g, place, "global_inv_freq", Frequencies(d, c.GlobalRopeTheta));
        var localRope = LlamaOnnx.Angles(g, place, "local_inv_freq", Frequencies(d, c.LocalRopeTheta));

        var x = Norm(g, g.Op("Gather", g.Weight("tok_embeddings", w["model.embeddings.tok_embeddings.weight"]), ids), "model.embeddings.norm", w, c);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            var ((cos, sin), bias) = c.IsGlobal(i) ? (globalRope, globalBias) : (localRope, localBias);
            var normed = i == 0 ? x : Norm(g, x, p + "attn_norm", w, c);
            var parts = g.Node("Split", [LlamaOnnx.Projection(g, normed, p + "attn.Wqkv", w), g.Int64s(h, h, h)], outputCount: 3, attributes: ("axis", -1L));
            string Heads(string part) => g.Op("Transpose", [g.Op("Reshape", part, g.Int64s(0, 0, n, d))], ("perm", new long[] { 0, 2, 1, 3 }));
            var q = LlamaOnnx.Rotate(g, Heads(parts[0]), cos, sin, d);
            var k = LlamaOnnx.Rotate(g, Heads(parts[1]), cos, sin, d);
            x = g.Op("Add", x, LlamaOnnx.Projection(g, LlamaOnnx.Attention(g, q, k, Heads(parts[2]), bias, d, h), p + "attn.Wo", w));
            var both = g.Node("Split", [LlamaOnnx.Projection(g, Norm(g, x, p + "mlp_norm", w, c), p + "mlp.Wi", w), g.Int64s(c.IntermediateSize, c.IntermediateSize)],
                outputCount: 2, attributes: ("axis", -1L));
            x = g.Op("Add", x, LlamaOnnx.Projection(g, g.Op("Mul", g.Activation(both[0], c.HiddenActivation), both[1]), p + "mlp.Wo", w));
        }
        x = Norm(g, x, "model.final_norm", w, c);

        string Head(string hidden) => Norm(g, g.Activation(LlamaOnnx.Projection(g, hidden, "head.dense", w), c.ClassifierActivation), "head.norm", w, c);
        string Classifier(string hidden) => g.Linear(hidden, "classifier", w["classifier.weight"].t(), w["classifier.bias"]);
        var logits = model switch
        {
            ModernBertForSequenceClassification => Classifier(Head(Pooled(g, x, mask, c))),
            ModernBertForTokenClassification => Classifier(Head(x)),
            _ => g.TiedHead(Head(x), ids, "tok_embeddings", w.GetValueOrDefault("decoder.bias"), h, c.VocabSize),
        };
        BertOnnx.LogitsOutput(g, logits, model);
    }

    /// <summary>The [CLS] state, or with classifier_pooling mean the mean of the real tokens' states: (B, H).</summary>
    static string Pooled(OnnxGraph g, string x, string mask, ModernBertConfig c)
    {
        if (c.ClassifierPooling != "mean") return g.Op("Gather", [x, g.Int64Scalar(0)], ("axis", 1L));
        var weights = g.Op("Unsqueeze", g.Op("Cast", [mask], ("to", (long)DataType.Float)), g.Int64s(-1)); // (B, S, 1)
        string Sum(string t) => g.Op("ReduceSum", [t, g.Int64s(1)], ("keepdims", 0L)); // over the sequence
        return g.Op("Div", Sum(g.Op("Mul", x, weights)), Sum(weights)); // (B, H) / (B, 1)
    }

    /// <summary>LayerNorm whose bias is zeros where the config has norm_bias false.</summary>
    static string Norm(OnnxGraph g, string x, string module, Dictionary<string, Tensor> w, ModernBertConfig c) =>
        g.LayerNorm(x, OnnxGraph.Name(module, ""), w[module + ".weight"], w.GetValueOrDefault(module + ".bias") ?? zeros(c.HiddenSize), c.NormEps);

    static float[] Frequencies(long headDim, double theta) => Rotary.Frequencies((int)headDim, theta).Select(f => (float)f).ToArray();
}
