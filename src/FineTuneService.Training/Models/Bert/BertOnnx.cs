using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>The BERT family's graph, read from the task model's Hugging Face–named weights: embeddings
/// (Gather + LayerNormalization), per layer one QKV product → attention in standard ops (padding as a -10000 key
/// bias) → output product + residual → LayerNormalization, intermediate product → <c>BiasGelu</c>/<c>FastGelu</c> →
/// output product + residual → LayerNormalization; then the head. Standard ops rather than ONNX Runtime's fused
/// <c>MultiHeadAttention</c> and <c>SkipLayerNormalization</c>: measured slower on the CPU EP (README, "ONNX graphs").
/// Inputs <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> (batch, sequence) int64; output <c>logits</c>:
/// (batch, labels) for sequence classification and regression, (batch, sequence, labels) for token classification,
/// (batch, sequence, vocab) for masked LM.</summary>
static class BertOnnx
{
    public static readonly string[] Architectures =
    [
        nameof(BertForSequenceClassification), nameof(BertForTokenClassification), nameof(BertForMaskedLM), nameof(BertForPreTraining),
    ];

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (BertConfig)model.Config;
        var w = model.Module.state_dict();
        Tensor W(string name) => w[name];

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "sequence");
        var types = g.Input("token_type_ids", DataType.Int64, "batch", "sequence");

        // Embeddings: word + token type + positions 0..S-1, then LayerNorm.
        var sequence = g.Op("Shape", [ids], ("start", 1L), ("end", 2L)); // [S]
        var positions = g.Op("Slice", g.Weight("position_embeddings", W("bert.embeddings.position_embeddings.weight")),
            g.Int64s(0), sequence, g.Int64s(0)); // (S, H)
        var words = g.Op("Gather", g.Weight("word_embeddings", W("bert.embeddings.word_embeddings.weight")), ids);
        var typeEmbeddings = g.Op("Gather", g.Weight("token_type_embeddings", W("bert.embeddings.token_type_embeddings.weight")), types);
        var embedded = g.Op("Add", g.Op("Add", words, typeEmbeddings), positions);
        var x = LayerNorm(g, embedded, "bert.embeddings.LayerNorm", w, c.LayerNormEps);

        x = Encode(g, x, mask, "bert.", w, c);

        var logits = model switch
        {
            BertForSequenceClassification => SequenceHead(g, x, w),
            BertForTokenClassification => g.Linear(x, "classifier", W("classifier.weight").t(), W("classifier.bias")),
            _ => MaskedLmHead(g, x, ids, w, c),
        };
        LogitsOutput(g, logits, model);
    }

    /// <summary>(B, 1, 1, S) from attention_mask: 0 where a key is a token, -10000 where it is padding, added to every
    /// head's scores.</summary>
    internal static string KeyBias(OnnxGraph g, string mask) => g.Op("Unsqueeze",
        g.Op("Mul", g.Op("Sub", g.Float(1), g.Op("Cast", [mask], ("to", (long)DataType.Float))), g.Float(-10000)), g.Int64s(1, 2));

    /// <summary>BERT's encoder layers under <paramref name="prefix"/> (<c>bert.</c>, <c>roberta.</c>) over the embeddings.</summary>
    internal static string Encode(OnnxGraph g, string x, string mask, string prefix, Dictionary<string, Tensor> w, BertConfig c)
    {
        var keyBias = KeyBias(g, mask);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            x = Layer(g, x, keyBias, $"{prefix}encoder.layer.{i}.", w, c);
        }
        return x;
    }

    /// <summary>The graph's <c>logits</c> output, shaped by the head's task: (batch, labels), (batch, sequence, labels)
    /// or (batch, sequence, vocab).</summary>
    internal static void LogitsOutput(OnnxGraph g, string logits, ITaskModel model)
    {
        var c = model.Config;
        object[] shape = ModelCatalogue.Head(model.Architecture)!.Task switch
        {
            ModelTask.SequenceClassification => ["batch", c.NumLabels],
            ModelTask.TokenClassification => ["batch", "sequence", c.NumLabels],
            _ => ["batch", "sequence", c.VocabSize],
        };
        g.Output(logits, "logits", DataType.Float, shape);
    }

    static string Layer(OnnxGraph g, string x, string keyBias, string p, Dictionary<string, Tensor> w, BertConfig c)
    {
        string a = p + "attention.self.";
        var qkv = FusedQkv(g, x, Name(p, "qkv"), w, a + "query", a + "key", a + "value");
        var attended = ResidualLayerNorm(g, Attention(g, qkv, keyBias, c.HiddenSize, c.NumAttentionHeads), x, p + "attention.output.", w, c.LayerNormEps);
        var inner = g.BiasActivation(g.MatMul(attended, Name(p, "intermediate"), w[p + "intermediate.dense.weight"].t()),
            g.Weight(Name(p, "intermediate_bias"), w[p + "intermediate.dense.bias"]), c.HiddenAct);
        return ResidualLayerNorm(g, inner, attended, p + "output.", w, c.LayerNormEps);
    }

    /// <summary>One (H, 3H) product for query|key|value, from the three Linear modules named.</summary>
    internal static string FusedQkv(OnnxGraph g, string x, string name, Dictionary<string, Tensor> w, string query, string key, string value)
    {
        var weight = cat([w[query + ".weight"].t(), w[key + ".weight"].t(), w[value + ".weight"].t()], 1);
        var bias = cat([w[query + ".bias"], w[key + ".bias"], w[value + ".bias"]], 0);
        return g.Linear(x, name, weight, bias);
    }

    /// <summary>softmax(q·kᵀ/√d + key bias)·v per head, from qkv (B, S, 3H), width h in n heads → (B, S, H).</summary>
    internal static string Attention(OnnxGraph g, string qkv, string keyBias, long h, long n)
    {
        long d = h / n;
        var parts = g.Node("Split", [qkv, g.Int64s(h, h, h)], outputCount: 3, attributes: ("axis", -1L));
        string Heads(string part, long[] perm) => g.Op("Transpose", [g.Op("Reshape", part, g.Int64s(0, 0, n, d))], ("perm", perm));
        var q = Heads(parts[0], [0, 2, 1, 3]); // (B, heads, S, d)
        var k = Heads(parts[1], [0, 2, 3, 1]); // (B, heads, d, S)
        var v = Heads(parts[2], [0, 2, 1, 3]);
        var scores = g.Op("Add", g.Op("Mul", g.Op("MatMul", q, k), g.Float(1 / MathF.Sqrt(d))), keyBias);
        var context = g.Op("MatMul", g.Op("Softmax", [scores], ("axis", -1L)), v);
        return g.Op("Reshape", g.Op("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 })), g.Int64s(0, 0, h));
    }

    /// <summary>LayerNorm(dense(x) + residual) with the module at <paramref name="module"/> (dense + LayerNorm).</summary>
    static string ResidualLayerNorm(OnnxGraph g, string x, string residual, string module, Dictionary<string, Tensor> w, double eps) =>
        g.LayerNorm(g.Op("Add", g.Linear(x, Name(module, "dense"), w[module + "dense.weight"].t(), w[module + "dense.bias"]), residual),
            Name(module, "LayerNorm"), w[module + "LayerNorm.weight"], w[module + "LayerNorm.bias"], eps);

    /// <summary>tanh(pooler(hidden[:, 0])) → classifier: (batch, labels).</summary>
    static string SequenceHead(OnnxGraph g, string x, Dictionary<string, Tensor> w)
    {
        var first = g.Op("Gather", [x, g.Int64Scalar(0)], ("axis", 1L)); // (B, H)
        var pooled = g.Op("Tanh", g.Op("Gemm", [first, g.Weight("pooler_weight", w["bert.pooler.dense.weight"]), g.Weight("pooler_bias", w["bert.pooler.dense.bias"])],
            ("transB", 1L)));
        return g.Op("Gemm", [pooled, g.Weight("classifier_weight", w["classifier.weight"]), g.Weight("classifier_bias", w["classifier.bias"])],
            ("transB", 1L));
    }

    /// <summary>transform (dense → act → LayerNorm) → the tied word embeddings (one initializer for both uses) + bias.</summary>
    static string MaskedLmHead(OnnxGraph g, string x, string ids, Dictionary<string, Tensor> w, BertConfig c)
    {
        const string t = "cls.predictions.transform.";
        var transformed = LayerNorm(g,
            g.BiasActivation(g.MatMul(x, "mlm_transform", w[t + "dense.weight"].t()), g.Weight("mlm_transform_bias", w[t + "dense.bias"]), c.HiddenAct),
            t + "LayerNorm", w, c.LayerNormEps);
        return g.TiedHead(transformed, ids, "word_embeddings", w["cls.predictions.bias"], c.HiddenSize, c.VocabSize);
    }

    internal static string LayerNorm(OnnxGraph g, string x, string module, Dictionary<string, Tensor> w, double eps) =>
        g.LayerNorm(x, Name(module, ""), w[module + ".weight"], w[module + ".bias"], eps);

    internal static string Name(string module, string what) => OnnxGraph.Name(module, what);
}
