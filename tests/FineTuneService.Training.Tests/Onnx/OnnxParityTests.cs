using FineTuneService.Training.Inference;
using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Onnx;

/// <summary>ONNX Runtime on the graphs we build against TorchSharp on the same weights, every head, right-padded
/// batches (compared where attention_mask is 1): the tiny Hugging Face checkpoints of tests/fixtures/hf-tiny-random,
/// and the real MiniLM checkpoint under a classification head.</summary>
public sealed class OnnxParityTests(ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string dir = Directory.CreateTempSubdirectory("fts-onnx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Rows of the given lengths, random ids in [5, vocab) and token types, right-padded with <paramref name="padId"/>.</summary>
    internal static PaddedRows Padded(int[] lengths, int vocab, int seed, bool tokenTypes = true, int padId = 0)
    {
        var random = new Random(seed);
        var ids = lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(5, vocab)).ToArray()).ToArray();
        return PaddedRows.Pad(lengths.Length, r => ids[r],
            r => Enumerable.Range(0, lengths[r]).Select(t => tokenTypes && t >= lengths[r] / 2 ? 1 : 0).ToArray(), padId);
    }

    /// <summary>The largest |torch − ONNX Runtime| over the real tokens (all rows for per-sequence logits).</summary>
    double MaxDiff(ITaskModel model, PaddedRows batch, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        var path = Path.Combine(dir, $"{Guid.NewGuid():N}.onnx");
        OnnxExport.Save(model, path, precision);
        using var onnx = OnnxForward.Open(path, CPU);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        model.Module.eval();
        var expected = new TorchForward(model, CPU).Logits(batch);
        var actual = onnx.Logits(batch);
        Assert.Equal(expected.shape, actual.shape);
        var diff = (expected - actual).abs();
        if (diff.dim() == 3)
        {
            var mask = tensor(batch.AttentionMask, [batch.Rows, batch.Columns]).to(ScalarType.Bool).unsqueeze(-1);
            diff = diff.masked_fill(mask.logical_not(), 0);
        }
        double worst = diff.max().item<float>();
        output.WriteLine($"{model.Architecture} {precision}: logits {string.Join("×", expected.shape)}, max |diff| {worst:E2}, max |logit| {expected.abs().max().item<float>():F3}");
        return worst;
    }

    [Theory]
    [InlineData(nameof(BertForSequenceClassification))]
    [InlineData(nameof(BertForTokenClassification))]
    [InlineData(nameof(BertForMaskedLM))]
    [InlineData(nameof(BertForPreTraining))]
    public void Tiny_bert_heads_match_torch_on_a_padded_batch(string architecture)
    {
        using var model = ModelFolder.Load(Fixtures.TinyRandom("bert"), architecture).Module;
        var task = (ITaskModel)model;
        Assert.True(MaxDiff(task, Padded([9, 3, 6, 1], task.Config.VocabSize, seed: 1)) < Tolerance);
    }

    /// <summary>RoBERTa, XLM-R, DistilBERT and ModernBERT under every head (fresh heads seeded over the fixtures'
    /// encoders; ModernBERT's window of 4 and alternating layers); the padded ids are the family's pad id, so RoBERTa's
    /// positions skip them as Hugging Face's do.</summary>
    [Theory]
    [InlineData("roberta", "RobertaForSequenceClassification")]
    [InlineData("roberta", "RobertaForTokenClassification")]
    [InlineData("roberta", "RobertaForMaskedLM")]
    [InlineData("xlm_roberta", "XLMRobertaForSequenceClassification")]
    [InlineData("xlm_roberta", "XLMRobertaForMaskedLM")]
    [InlineData("distilbert", nameof(DistilBertForSequenceClassification))]
    [InlineData("distilbert", nameof(DistilBertForTokenClassification))]
    [InlineData("distilbert", nameof(DistilBertForMaskedLM))]
    [InlineData("modernbert", nameof(ModernBertForSequenceClassification))]
    [InlineData("modernbert", nameof(ModernBertForTokenClassification))]
    [InlineData("modernbert", nameof(ModernBertForMaskedLM))]
    [InlineData("modernbert", nameof(ModernBertForSequenceClassification), "mean")]
    public void Roberta_xlm_roberta_distilbert_and_modernbert_heads_match_torch_on_a_padded_batch(string arch, string architecture, string? pooling = null)
    {
        using var model = ModelFolder.Load(Fixtures.TinyRandom(arch), architecture,
            c => pooling is null ? c : ((ModernBertConfig)c) with { ClassifierPooling = pooling }).Module;
        var task = (ITaskModel)model;
        var pad = task.Config is RobertaConfig roberta ? roberta.PadTokenId : 0;
        var batch = Padded([9, 3, 6, 1], task.Config.VocabSize, seed: 7, tokenTypes: false, padId: pad);
        Assert.True(MaxDiff(task, batch) < Tolerance);
    }

    [Theory]
    [InlineData(ModelConfig.Regression, 1)]
    [InlineData(ModelConfig.MultiLabel, 4)]
    public void Regression_and_multi_label_heads_match_torch(string problemType, int labels)
    {
        var names = Enumerable.Range(0, labels).ToDictionary(i => i, i => $"L{i}");
        using var model = ModelFolder.Load(Fixtures.TinyRandom("bert"), nameof(BertForSequenceClassification),
            c => c with { ProblemType = problemType, Id2Label = names, Label2Id = names.ToDictionary(kv => kv.Value, kv => kv.Key) }).Module;
        var task = (ITaskModel)model;
        Assert.True(MaxDiff(task, Padded([5, 8, 2], task.Config.VocabSize, seed: 2)) < Tolerance);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Decoder_logits_match_torch_on_a_padded_batch_with_an_empty_past(string arch)
    {
        using var model = ModelFolder.Load(Fixtures.TinyRandom(arch)).Module;
        var task = (ITaskModel)model;
        Assert.True(MaxDiff(task, Padded([12, 4, 7], task.Config.VocabSize, seed: 3, tokenTypes: false)) < Tolerance);
    }

    /// <summary>The decoders' sequence classifiers: <c>score</c> at each row's last real token (GPT-2's trained by the
    /// fixture, Llama's and Qwen2's fresh over the checkpoints).</summary>
    [Theory]
    [InlineData("gpt2_seqcls", null)]
    [InlineData("llama", "LlamaForSequenceClassification")]
    [InlineData("qwen2", "Qwen2ForSequenceClassification")]
    public void Decoder_sequence_classifiers_match_torch_on_a_padded_batch(string arch, string? architecture)
    {
        using var model = ModelFolder.Load(Fixtures.TinyRandom(arch), architecture).Module;
        var task = (ITaskModel)model;
        Assert.True(MaxDiff(task, Padded([12, 4, 7, 1], task.Config.VocabSize, seed: 8, tokenTypes: false)) < Tolerance);
    }

    /// <summary>The cache as the serving decoder feeds it: a prompt, then one token at a time (Llama's GQA keeps 2 key/value heads for 4).</summary>
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Decoding_with_the_past_matches_the_whole_context(string arch)
    {
        using var module = ModelFolder.Load(Fixtures.TinyRandom(arch)).Module;
        var model = (ICausalLM)module;
        module.eval();
        var path = Path.Combine(dir, $"{arch}.onnx");
        OnnxExport.Save(model, path);
        using var onnx = OnnxForward.Open(path, CPU);
        using var decoder = onnx.Decoder();
        long[] ids = [11, 42, 7, 99, 150, 3, 18, 64, 5]; // within every fixture's vocabulary
        using var inference = inference_mode();
        using var cache = new KvCache();
        using var full = model.Step(tensor(ids, [1, ids.Length]), ones(1, ids.Length, dtype: ScalarType.Int64),
            arange(ids.Length, dtype: ScalarType.Int64).unsqueeze(0), cache)[0]; // (T, V)
        double worst = 0;
        var first = decoder.Next(ids[..4]); // a prompt, then one token at a time
        worst = Math.Max(worst, (first - full[3]).abs().max().item<float>());
        for (int t = 4; t < ids.Length; t++)
        {
            var next = decoder.Next([ids[t]]);
            worst = Math.Max(worst, (next - full[t]).abs().max().item<float>());
        }
        Assert.Equal(ids.Length, decoder.Length);
        output.WriteLine($"{arch} cached decoding vs whole context: max |diff| {worst:E2}");
        Assert.True(worst < Tolerance, $"max |diff| {worst:E2}");
    }

    /// <summary>The masked-LM head: its decoder is MiniLM's trained word embeddings, so the logits are large (a fresh
    /// classifier's would be near 0 and prove little).</summary>
    [Fact]
    public void MiniLm_masked_lm_matches_torch_on_a_padded_batch()
    {
        using var model = ModelFolder.Load(Fixtures.MiniLm, nameof(BertForMaskedLM)).Module;
        var task = (ITaskModel)model;
        var batch = Padded([19, 7, 31, 12, 3, 25], task.Config.VocabSize, seed: 4);
        Assert.True(MaxDiff(task, batch) < Tolerance);
    }

    [Fact]
    public void Int8_weights_stay_within_half_a_step_and_the_int8_graph_stays_near_fp32()
    {
        using var scope = NewDisposeScope();
        var weight = randn(48, 16, generator: new Generator(5)) * linspace(0.1, 3, 16);
        var (quantized, scales) = OnnxGraph.QuantizePerColumn(weight);
        Assert.Equal(ScalarType.Int8, quantized.dtype);
        Assert.True(quantized.abs().max().item<sbyte>() == 127, "each column's largest weight maps to ±127");
        var error = (quantized.to(ScalarType.Float32) * scales - weight).abs() - scales / 2;
        Assert.True(error.max().item<float>() <= 1e-6, "every weight is within half a quantization step");

        using var model = ModelFolder.Load(Fixtures.TinyRandom("bert")).Module;
        var task = (ITaskModel)model;
        var diff = MaxDiff(task, Padded([9, 3, 6], task.Config.VocabSize, seed: 6), OnnxPrecision.Int8);
        Assert.True(diff is > 0 and < 0.05, $"int8 logits differ from fp32 by {diff:E2}");
    }
}
