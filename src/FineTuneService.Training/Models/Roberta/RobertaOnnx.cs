using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>RoBERTa's and XLM-R's graph: BERT's encoder (<see cref="BertOnnx.Encode"/>) under <c>roberta.</c>, with
/// positions counted from padding_idx + 1 over the real tokens (padding gets padding_idx), the one token type's row
/// added, and RoBERTa's heads: <c>classifier.dense</c> → tanh → <c>classifier.out_proj</c> over &lt;s&gt;, a token
/// <c>classifier</c>, or <c>lm_head</c> (dense → GELU → layer_norm → the tied word embeddings + bias). Inputs
/// <c>input_ids</c>, <c>attention_mask</c> (batch, sequence) int64, as Hugging Face Optimum exports RoBERTa; output
/// <c>logits</c> as BERT's.</summary>
static class RobertaOnnx
{
    public static readonly string[] Architectures = new[] { "Roberta", "XLMRoberta" }
        .SelectMany(stem => new[] { stem + "ForSequenceClassification", stem + "ForTokenClassification", stem + "ForMaskedLM" }).ToArray();

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (RobertaConfig)model.Config;
        var w = model.Module.state_dict();
        const string e = "roberta.embeddings.";

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "sequence");

        // create_position_ids_from_input_ids: real tokens count up from pad + 1, padding stays at pad.
        var pad = g.Int64Scalar(c.PadTokenId);
        var real = g.Op("Cast", [g.Op("Not", g.Op("Equal", ids, pad))], ("to", (long)DataType.Int64));
        var positionIds = g.Op("Add", g.Op("Mul", g.Op("CumSum", real, g.Int64Scalar(1)), real), pad);
        var words = g.Op("Gather", g.Weight("word_embeddings", w[e + "word_embeddings.weight"]), ids);
        var positions = g.Op("Gather", g.Weight("position_embeddings", w[e + "position_embeddings.weight"]), positionIds);
        var embedded = g.Op("Add", g.Op("Add", words, positions), g.Weight("token_type_embedding", w[e + "token_type_embeddings.weight"][0]));
        var x = BertOnnx.Encode(g, BertOnnx.LayerNorm(g, embedded, e + "LayerNorm", w, c.LayerNormEps), mask, "roberta.", w, c);

        var logits = model switch
        {
            RobertaForSequenceClassification => SequenceHead(g, x, w),
            RobertaForTokenClassification => g.Linear(x, "classifier", w["classifier.weight"].t(), w["classifier.bias"]),
            _ => g.TiedHead(
                g.LayerNorm(g.BiasActivation(g.MatMul(x, "lm_head_dense", w["lm_head.dense.weight"].t()), g.Weight("lm_head_dense_bias", w["lm_head.dense.bias"]), "gelu"),
                    "lm_head_layer_norm", w["lm_head.layer_norm.weight"], w["lm_head.layer_norm.bias"], c.LayerNormEps),
                ids, "word_embeddings", w["lm_head.bias"], c.HiddenSize, c.VocabSize),
        };
        BertOnnx.LogitsOutput(g, logits, model);
    }

    /// <summary>out_proj(tanh(dense(hidden[:, 0]))): (batch, labels).</summary>
    static string SequenceHead(OnnxGraph g, string x, Dictionary<string, Tensor> w)
    {
        var first = g.Op("Gather", [x, g.Int64Scalar(0)], ("axis", 1L)); // (B, H)
        var dense = g.Op("Tanh", g.Op("Gemm", [first, g.Weight("classifier_dense_weight", w["classifier.dense.weight"]),
            g.Weight("classifier_dense_bias", w["classifier.dense.bias"])], ("transB", 1L)));
        return g.Op("Gemm", [dense, g.Weight("classifier_out_proj_weight", w["classifier.out_proj.weight"]),
            g.Weight("classifier_out_proj_bias", w["classifier.out_proj.bias"])], ("transB", 1L));
    }
}
