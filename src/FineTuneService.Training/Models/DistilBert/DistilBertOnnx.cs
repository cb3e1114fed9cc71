using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>DistilBERT's graph: word + position embeddings → LayerNorm; per layer one q_lin|k_lin|v_lin product →
/// BERT's attention (<see cref="BertOnnx.Attention"/>) → out_lin + residual → sa_layer_norm, lin1 → activation → lin2 +
/// residual → output_layer_norm; then the head: <c>pre_classifier</c> → ReLU → <c>classifier</c> over [CLS], a token
/// <c>classifier</c>, or vocab_transform → activation → vocab_layer_norm → the tied word embeddings +
/// <c>vocab_projector.bias</c>. Inputs <c>input_ids</c>, <c>attention_mask</c> (batch, sequence) int64 (DistilBERT has
/// no token types); output <c>logits</c> as BERT's.</summary>
static class DistilBertOnnx
{
    public static readonly string[] Architectures =
    [
        nameof(DistilBertForSequenceClassification), nameof(DistilBertForTokenClassification), nameof(DistilBertForMaskedLM),
    ];

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (DistilBertConfig)model.Config;
        var w = model.Module.state_dict();
        const double Eps = DistilBertConfig.LayerNormEps;

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "sequence");

        var sequence = g.Op("Shape", [ids], ("start", 1L), ("end", 2L)); // [S]
        var positions = g.Op("Slice", g.Weight("position_embeddings", w["distilbert.embeddings.position_embeddings.weight"]),
            g.Int64s(0), sequence, g.Int64s(0)); // (S, dim)
        var words = g.Op("Gather", g.Weight("word_embeddings", w["distilbert.embeddings.word_embeddings.weight"]), ids);
        var x = BertOnnx.LayerNorm(g, g.Op("Add", words, positions), "distilbert.embeddings.LayerNorm", w, Eps);

        var keyBias = BertOnnx.KeyBias(g, mask);
        for (int i = 0; i < c.NLayers; i++)
        {
            string p = $"distilbert.transformer.layer.{i}.", a = p + "attention.";
            var qkv = BertOnnx.FusedQkv(g, x, OnnxGraph.Name(p, "qkv"), w, a + "q_lin", a + "k_lin", a + "v_lin");
            var attention = g.Linear(BertOnnx.Attention(g, qkv, keyBias, c.Dim, c.NHeads), OnnxGraph.Name(a, "out_lin"),
                w[a + "out_lin.weight"].t(), w[a + "out_lin.bias"]);
            var attended = BertOnnx.LayerNorm(g, g.Op("Add", attention, x), p + "sa_layer_norm", w, Eps);
            var inner = g.BiasActivation(g.MatMul(attended, OnnxGraph.Name(p, "ffn_lin1"), w[p + "ffn.lin1.weight"].t()),
                g.Weight(OnnxGraph.Name(p, "ffn_lin1_bias"), w[p + "ffn.lin1.bias"]), c.Activation);
            var ffn = g.Linear(inner, OnnxGraph.Name(p, "ffn_lin2"), w[p + "ffn.lin2.weight"].t(), w[p + "ffn.lin2.bias"]);
            x = BertOnnx.LayerNorm(g, g.Op("Add", ffn, attended), p + "output_layer_norm", w, Eps);
        }

        var logits = model switch
        {
            DistilBertForSequenceClassification => g.Op("Gemm", [g.Op("Relu", g.Op("Gemm",
                    [g.Op("Gather", [x, g.Int64Scalar(0)], ("axis", 1L)), g.Weight("pre_classifier_weight", w["pre_classifier.weight"]),
                        g.Weight("pre_classifier_bias", w["pre_classifier.bias"])], ("transB", 1L))),
                g.Weight("classifier_weight", w["classifier.weight"]), g.Weight("classifier_bias", w["classifier.bias"])], ("transB", 1L)),
            DistilBertForTokenClassification => g.Linear(x, "classifier", w["classifier.weight"].t(), w["classifier.bias"]),
            _ => g.TiedHead(
                BertOnnx.LayerNorm(g, g.BiasActivation(g.MatMul(x, "vocab_transform", w["vocab_transform.weight"].t()),
                    g.Weight("vocab_transform_bias", w["vocab_transform.bias"]), c.Activation), "vocab_layer_norm", w, Eps),
                ids, "word_embeddings", w["vocab_projector.bias"], c.Dim, c.VocabSize),
        };
        BertOnnx.LogitsOutput(g, logits, model);
    }
}
