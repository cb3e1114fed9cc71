using FineTuneService.Training.Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace FineTuneService.Training.Models;

/// <summary>GPT-2's graph with a key-value cache, in Hugging Face Optimum's names: inputs <c>input_ids</c>
/// (batch, sequence), <c>attention_mask</c> (batch, past + sequence) and per layer <c>past_key_values.{i}.key</c> /
/// <c>.value</c> (batch, heads, past, head_dim; past may be 0); outputs <c>logits</c> (batch, sequence, vocab) and
/// <c>present.{i}.key</c> / <c>.value</c> (batch, heads, past + sequence, head_dim). Positions continue from the past
/// (past .. past + sequence - 1). Per block: LayerNorm → one c_attn product → causal <c>MultiHeadAttention</c> over
/// past and new keys → c_proj → residual; LayerNorm → c_fc → <c>FastGelu</c> → c_proj → residual.
/// <c>GPT2ForSequenceClassification</c>'s graph has no cache (inputs <c>input_ids</c>, <c>attention_mask</c>) and reads
/// <c>score</c> at each row's last real token: (batch, labels).</summary>
static class Gpt2Onnx
{
    public static string PastKey(int layer) => $"past_key_values.{layer}.key";
    public static string PastValue(int layer) => $"past_key_values.{layer}.value";
    public static string PresentKey(int layer) => $"present.{layer}.key";
    public static string PresentValue(int layer) => $"present.{layer}.value";

    public static readonly string[] Architectures = ["GPT2LMHeadModel", "GPT2ForSequenceClassification"];

    public static void Build(OnnxGraph g, ITaskModel model)
    {
        var c = (Gpt2Config)model.Config;
        var w = model.Module.state_dict();
        long e = c.NEmbd, headDim = c.NEmbd / c.NHead;

        var ids = g.Input("input_ids", DataType.Int64, "batch", "sequence");
        var cached = model is ICausalLM;
        var mask = g.Input("attention_mask", DataType.Int64, "batch", cached ? "total_sequence" : "sequence");
        var pasts = cached ? Enumerable.Range(0, c.NLayer).Select(i => (
            Key: g.Input(PastKey(i), DataType.Float, "batch", c.NHead, "past_sequence", headDim),
            Value: g.Input(PastValue(i), DataType.Float, "batch", c.NHead, "past_sequence", headDim))).ToArray() : null;

        var past = pasts is null ? g.Int64Scalar(0) : g.Op("Squeeze", g.Op("Shape", [pasts[0].Key], ("start", 2L), ("end", 3L)), g.Int64s(0));
        var sequence = g.Op("Squeeze", g.Op("Shape", [ids], ("start", 1L), ("end", 2L)), g.Int64s(0));
        var positions = g.Op("Range", past, g.Op("Add", past, sequence), g.Int64Scalar(1)); // (S)
        var x = g.Op("Add", g.Op("Gather", g.Weight("wte", w["transformer.wte.weight"]), ids),
            g.Op("Gather", g.Weight("wpe", w["transformer.wpe.weight"]), positions));

        var keyPadding = g.Op("Cast", [mask], ("to", (long)DataType.Int32));
        for (int i = 0; i < c.NLayer; i++)
        {
            string p = $"transformer.h.{i}.";
            var h = g.LayerNorm(x, OnnxGraph.Name(p, "ln_1"), w[p + "ln_1.weight"], w[p + "ln_1.bias"], c.LayerNormEpsilon);
            var qkv = g.MatMul(h, OnnxGraph.Name(p, "c_attn"), w[p + "attn.c_attn.weight"]);
            var parts = g.Node("Split", [qkv, g.Int64s(e, e, e)], outputCount: 3, attributes: ("axis", -1L));
            string[] inputs = [parts[0], parts[1], parts[2], g.Weight(OnnxGraph.Name(p, "c_attn_bias"), w[p + "attn.c_attn.bias"]), keyPadding];
            var attention = g.Node("MultiHeadAttention", pasts is null ? inputs : [.. inputs, "", pasts[i].Key, pasts[i].Value],
                pasts is null ? [OnnxGraph.Name(p, "attention")] : [OnnxGraph.Name(p, "attention"), PresentKey(i), PresentValue(i)],
                domain: OnnxGraph.Microsoft, attributes: [("num_heads", (long)c.NHead), ("unidirectional", 1L)]);
            x = g.Op("Add", x, g.Linear(attention[0], OnnxGraph.Name(p, "attn_c_proj"), w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"]));
            var h2 = g.LayerNorm(x, OnnxGraph.Name(p, "ln_2"), w[p + "ln_2.weight"], w[p + "ln_2.bias"], c.LayerNormEpsilon);
            var inner = g.BiasActivation(g.MatMul(h2, OnnxGraph.Name(p, "c_fc"), w[p + "mlp.c_fc.weight"]),
                g.Weight(OnnxGraph.Name(p, "c_fc_bias"), w[p + "mlp.c_fc.bias"]), c.ActivationFunction);
            x = g.Op("Add", x, g.Linear(inner, OnnxGraph.Name(p, "mlp_c_proj"), w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"]));
        }
        var final = g.LayerNorm(x, "ln_f", w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], c.LayerNormEpsilon);
        if (pasts is null)
        {
            BertOnnx.LogitsOutput(g, g.LastRealToken(g.MatMul(final, "score", w["score.weight"].t()), mask), model);
            return;
        }
        g.Output(g.TiedHead(final, ids, "wte", null, e, c.VocabSize), "logits", DataType.Float, "batch", "sequence", c.VocabSize);
        for (int i = 0; i < c.NLayer; i++)
        {
            g.Output(PresentKey(i), PresentKey(i), DataType.Float, "batch", c.NHead, "total_sequence", headDim);
            g.Output(PresentValue(i), PresentValue(i), DataType.Float, "batch", c.NHead, "total_sequence", headDim);
        }
    }
}
