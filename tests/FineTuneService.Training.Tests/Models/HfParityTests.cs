using System.Text.Json;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>Every family against what Hugging Face transformers computed for the committed hf-tiny-random checkpoints:
/// logits, last_hidden_state and every layer's hidden states on each input, compared where attention_mask is 1;
/// for decoders also the left-padded batch with position_ids and greedy generation (tokens and per-step scores).</summary>
public class HfParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    public static TheoryData<string> Encoders => new() { "bert", "roberta", "xlm_roberta", "distilbert", "modernbert" };
    public static TheoryData<string> Decoders => new() { "gpt2", "llama", "qwen2" };

    /// <summary>The family's base model, loaded from the checkpoint's keys under its prefix: ids, mask, token types, positions,
    /// hidden-state list → last_hidden_state, and the pooler output where it has one.</summary>
    static (nn.Module Module, Func<Tensor, Tensor, Tensor?, Tensor?, List<Tensor>, (Tensor Last, Tensor? Pooled)> Forward) BaseModel(string arch, ModelConfig config)
    {
        var prefix = ModelCatalogue.Of(config).BasePrefix;
        (nn.Module, Func<Tensor, Tensor, Tensor?, Tensor?, List<Tensor>, (Tensor, Tensor?)>) model = config switch
        {
            LlamaConfig c when new LlamaModel(c) is var m => (m, (ids, mask, _, pos, hs) => (m.forward(ids, mask, pos, null, hs), null)),
            Gpt2Config c when new Gpt2Model(c) is var m => (m, (ids, mask, _, pos, hs) => (m.forward(ids, mask, pos, null, hs), null)),
            DistilBertConfig c when new DistilBertModel(c, seed: null) is var m => (m, (ids, mask, _, _, hs) => (m.forward(ids, mask, hs), null)),
            ModernBertConfig c when new ModernBertModel(c, seed: null) is var m => (m, (ids, mask, _, _, hs) => (m.forward(ids, mask, hs), null)),
            BertConfig c when new BertModel(c, addPoolingLayer: c is not RobertaConfig, seed: null) is var m => (m, (ids, mask, types, _, hs) => m.forward(ids, mask, types, hs)),
            _ => throw new ArgumentException(arch),
        };
        HfTinyRandom.LoadBase(model.Item1, arch, prefix);
        model.Item1.eval();
        return model;
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    [MemberData(nameof(Decoders))]
    public void LogitsAndEveryHiddenStateMatchTransformers(string arch)
    {
        var reference = HfTinyRandom.Reference(arch);
        var task = ModelFolder.Load(HfTinyRandom.Dir(arch));
        task.Module.eval();
        var (baseModule, baseForward) = BaseModel(arch, task.Config);
        using var noGrad = no_grad();
        double worstLogits = 0, worstHidden = 0;
        foreach (var input in reference.GetProperty("inputs").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var name = input.GetProperty("name").GetString();
            var ids = HfTinyRandom.Tensor(input.GetProperty("input_ids"), integers: true);
            var mask = HfTinyRandom.Tensor(input.GetProperty("attention_mask"), integers: true);
            var positions = input.TryGetProperty("position_ids", out var p) ? HfTinyRandom.Tensor(p, integers: true) : null;
            var types = input.TryGetProperty("token_type_ids", out var tt) ? HfTinyRandom.Tensor(tt, integers: true) : null;
            var expectedLogits = HfTinyRandom.Tensor(input.GetProperty("logits"));
            Tensor logits;
            double dl;
            if (task is ICausalLM lm)
            {
                positions ??= arange(ids.shape[1], dtype: ScalarType.Int64).unsqueeze(0).expand(ids.shape[0], -1);
                using var cache = new KvCache();
                logits = lm.Step(ids, mask, positions, cache);
                dl = HfTinyRandom.MaxDiffWhereMasked(logits, expectedLogits, mask);
            }
            else
            {
                logits = task.Forward(new Batch(ids, mask, types)).Logits;
                dl = (logits - expectedLogits).abs().max().item<float>();
            }
            var hidden = new List<Tensor>();
            var (last, pooled) = baseForward(ids, mask, types, positions, hidden);
            var dh = HfTinyRandom.MaxDiffWhereMasked(last, HfTinyRandom.Tensor(input.GetProperty("last_hidden_state")), mask);
            var expectedStates = input.GetProperty("hidden_states");
            Assert.Equal(expectedStates.GetArrayLength(), hidden.Count);
            for (int i = 0; i < hidden.Count; i++)
            {
                var d = HfTinyRandom.MaxDiffWhereMasked(hidden[i], HfTinyRandom.Tensor(expectedStates[i]), mask);
                Assert.True(d < Tolerance, $"{arch} {name}: hidden_states[{i}] differs by {d:E2}");
                dh = Math.Max(dh, d);
            }
            if (input.TryGetProperty("pooler_output", out var expectedPooled))
            {
                var d = (pooled! - HfTinyRandom.Tensor(expectedPooled)).abs().max().item<float>();
                Assert.True(d < Tolerance, $"{arch} {name}: pooler_output differs by {d:E2}");
            }
            Assert.True(dl < Tolerance, $"{arch} {name}: logits differ by {dl:E2}");
            Assert.True(dh < Tolerance, $"{arch} {name}: hidden states differ by {dh:E2}");
            Assert.True(logits.std().item<float>() > 0.05, "the reference should not be trivially flat");
            worstLogits = Math.Max(worstLogits, dl);
            worstHidden = Math.Max(worstHidden, dh);
        }
        output.WriteLine($"{arch}: max |diff| logits {worstLogits:E2}, hidden states {worstHidden:E2}");
        baseModule.Dispose();
        task.Module.Dispose();
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void GreedyGenerationWithTheKvCacheGivesTransformersTokens(string arch)
    {
        var reference = HfTinyRandom.Reference(arch);
        var lm = (ICausalLM)ModelFolder.Load(HfTinyRandom.Dir(arch));
        lm.Module.eval();
        using var noGrad = no_grad();
        foreach (var g in reference.GetProperty("generate").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var name = g.GetProperty("name").GetString();
            var ids = HfTinyRandom.Tensor(g.GetProperty("input_ids"), integers: true);
            var mask = HfTinyRandom.Tensor(g.GetProperty("attention_mask"), integers: true);
            var expected = HfTinyRandom.Tensor(g.GetProperty("sequences"), integers: true);
            var scores = HfTinyRandom.Tensor(g.GetProperty("scores"));
            var steps = g.GetProperty("max_new_tokens").GetInt32();
            using var cache = new KvCache();
            var positions = CausalMaskPositions(mask);
            var fed = ids;
            var sequence = ids;
            double worst = 0;
            for (int step = 0; step < steps; step++)
            {
                var last = lm.Step(fed, mask, positions, cache).select(1, -1); // (B, V)
                worst = Math.Max(worst, (last - scores[step]).abs().max().item<float>());
                var next = last.argmax(-1, keepdim: true);
                sequence = cat([sequence, next], 1);
                fed = next;
                mask = cat([mask, ones_like(next)], 1);
                positions = positions.select(1, -1).unsqueeze(1) + 1;
            }
            Assert.Equal(expected.data<long>().ToArray(), sequence.data<long>().ToArray());
            Assert.True(worst < Tolerance, $"{arch} {name}: scores differ by {worst:E2}");
            output.WriteLine($"{arch} {name}: {steps} tokens identical, max |diff| of scores {worst:E2}");
        }
        lm.Module.Dispose();
    }

    /// <summary>What Hugging Face's generate gives a left-padded batch: real tokens count from 0, padding gets 1.</summary>
    static Tensor CausalMaskPositions(Tensor mask) => (mask.cumsum(1) - 1).masked_fill(mask.eq(0), 1);

    /// <summary>llm.c's test: on a fixed batch the loss, every parameter's gradient (norm and values) and the losses of
    /// 5 AdamW steps at lr 1e-3 equal transformers' (llama/train_reference.json, train_grads.safetensors).</summary>
    [Fact]
    public void LlamaTrainingStepsMatchTransformers()
    {
        var reference = HfTinyRandom.Reference("llama", "train_reference.json");
        var model = ModelFolder.Load(HfTinyRandom.Dir("llama"));
        model.Module.train();
        var batchJson = reference.GetProperty("batch");
        using var batch = new Batch(HfTinyRandom.Tensor(batchJson.GetProperty("input_ids"), integers: true),
            HfTinyRandom.Tensor(batchJson.GetProperty("attention_mask"), integers: true),
            Labels: HfTinyRandom.Tensor(batchJson.GetProperty("labels"), integers: true));
        var loss = model.Forward(batch).Loss!;
        Assert.Equal(reference.GetProperty("loss").GetDouble(), loss.item<float>(), 4);
        loss.backward();
        var grads = SafeTensors.Load(Path.Combine(HfTinyRandom.Dir("llama"), "train_grads.safetensors"));
        var norms = reference.GetProperty("grad_norm_l2");
        var parameters = model.Module.named_parameters().ToList();
        Assert.Equal(norms.EnumerateObject().Select(p => p.Name).Order(), parameters.Select(p => p.name).Order());
        double total = 0;
        foreach (var (name, parameter) in parameters)
        {
            var grad = parameter.grad!;
            var norm = grad.norm().item<float>();
            total += norm * (double)norm;
            Assert.True(Math.Abs(norm - norms.GetProperty(name).GetDouble()) < 1e-4 * Math.Max(1, norm), $"{name}: grad norm {norm} vs {norms.GetProperty(name)}");
            var d = (grad - grads[name]).abs().max().item<float>();
            Assert.True(d < 1e-4, $"{name}: gradient differs by {d:E2}");
        }
        Assert.Equal(reference.GetProperty("total_grad_norm_l2").GetDouble(), Math.Sqrt(total), 4);

        var adamw = reference.GetProperty("adamw");
        var betas = adamw.GetProperty("betas");
        var optimizer = optim.AdamW(model.Module.parameters(), adamw.GetProperty("lr").GetDouble(), betas[0].GetDouble(), betas[1].GetDouble(),
            adamw.GetProperty("eps").GetDouble(), adamw.GetProperty("weight_decay").GetDouble());
        var expected = adamw.GetProperty("losses_before_each_step_and_final").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var losses = new List<double> { loss.item<float>() };
        for (int step = 0; step < adamw.GetProperty("steps").GetInt32(); step++)
        {
            optimizer.step();
            optimizer.zero_grad();
            using var scope = NewDisposeScope();
            var next = model.Forward(batch).Loss!;
            losses.Add(next.item<float>());
            if (step + 1 < adamw.GetProperty("steps").GetInt32()) next.backward();
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(losses[i] - expected[i]) < 1e-4 * Math.Max(1, expected[i]), $"loss {i}: {losses[i]} vs {expected[i]}");
        output.WriteLine($"llama: losses {string.Join(", ", losses.Select(l => l.ToString("F6")))}");
        model.Module.Dispose();
    }

    /// <summary>GPT2ForSequenceClassification as transformers saves and runs it (pad_token_id names the padding): each
    /// row's logits at its last real token, right- and left-padded.</summary>
    [Fact]
    public void Gpt2SequenceClassifierMatchesTransformersOnPaddedBatches()
    {
        double worst = 0;
        OnEachReferenceInput("gpt2_seqcls", "GPT2ForSequenceClassification", (input, _, result) =>
        {
            var d = (result.Logits - HfTinyRandom.Tensor(input.GetProperty("logits"))).abs().max().item<float>();
            Assert.True(d < Tolerance, $"{input.GetProperty("name").GetString()}: logits differ by {d:E2}");
            worst = Math.Max(worst, d);
        });
        output.WriteLine($"GPT2ForSequenceClassification: max |diff| logits {worst:E2}");
    }

    /// <summary>GPT2ForTokenClassification as transformers saves and runs it: the logits at every real position, unpadded,
    /// right- and left-padded, and the cross-entropy over the labelled positions (-100 at padding and at one real token).</summary>
    [Fact]
    public void Gpt2TokenClassifierMatchesTransformersOnPaddedBatches()
    {
        double worst = 0, lossDiff = double.NaN;
        OnEachReferenceInput("gpt2_tokcls", "GPT2ForTokenClassification", (input, mask, result) =>
        {
            var d = HfTinyRandom.MaxDiffWhereMasked(result.Logits, HfTinyRandom.Tensor(input.GetProperty("logits")), mask);
            Assert.True(d < Tolerance, $"{input.GetProperty("name").GetString()}: logits differ by {d:E2}");
            worst = Math.Max(worst, d);
            if (result.Loss is { } loss)
            {
                lossDiff = Math.Abs(loss.item<float>() - input.GetProperty("loss").GetDouble());
                Assert.True(lossDiff < Tolerance, $"loss differs by {lossDiff:E2}");
            }
        });
        Assert.False(double.IsNaN(lossDiff), "the reference has a labelled batch");
        output.WriteLine($"GPT2ForTokenClassification: max |diff| logits {worst:E2}, loss {lossDiff:E2}");
    }

    /// <summary>A task-model fixture as transformers saved it, in eval mode without gradients, run on each of its reference
    /// inputs (with labels where the input has them): the input, its attention_mask and the model's output.</summary>
    static void OnEachReferenceInput(string fixture, string architecture, Action<JsonElement, Tensor, ModelOutput> check)
    {
        var reference = HfTinyRandom.Reference(fixture);
        using var module = ModelFolder.Load(HfTinyRandom.Dir(fixture)).Module;
        var task = (ITaskModel)module;
        Assert.Equal(architecture, task.Architecture);
        module.eval();
        using var noGrad = no_grad();
        foreach (var input in reference.GetProperty("inputs").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var mask = HfTinyRandom.Tensor(input.GetProperty("attention_mask"), integers: true);
            var labels = input.TryGetProperty("labels", out var l) ? HfTinyRandom.Tensor(l, integers: true) : null;
            check(input, mask, task.Forward(new Batch(HfTinyRandom.Tensor(input.GetProperty("input_ids"), integers: true), mask, Labels: labels)));
        }
    }

    /// <summary>Llama's rope_scaling as transformers 4.48 computes it (modeling_rope_utils): the inverse frequencies, and
    /// the logits at every real position, unpadded and left-padded with position_ids; without the scaling they differ.</summary>
    [Theory]
    [InlineData("linear")]
    [InlineData("llama3")]
    public void LlamaRopeScalingMatchesTransformers(string type)
    {
        var scaled = HfTinyRandom.Reference("llama", "rope_scaling_reference.json").GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("rope_scaling").GetProperty("rope_type").GetString() == type);
        using var module = ModelFolder.Load(HfTinyRandom.Dir("llama"), configure: c => ((LlamaConfig)c) with { RopeScaling = scaled.GetProperty("rope_scaling").Clone() }).Module;
        using var plain = ModelFolder.Load(HfTinyRandom.Dir("llama")).Module;
        var (model, unscaled) = ((LlamaForCausalLM)module, (LlamaForCausalLM)plain);
        var frequencies = model.Config.InverseFrequencies();
        var expected = scaled.GetProperty("inv_freq").EnumerateArray().Select(f => f.GetDouble()).ToArray();
        Assert.Equal(expected.Length, frequencies.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(frequencies[i] - expected[i]) <= 1e-6 * expected[i], $"inv_freq[{i}]: {frequencies[i]} vs {expected[i]}");
        }
        model.eval();
        unscaled.eval();
        using var noGrad = no_grad();
        double worst = 0;
        foreach (var input in scaled.GetProperty("inputs").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var ids = HfTinyRandom.Tensor(input.GetProperty("input_ids"), integers: true);
            var mask = HfTinyRandom.Tensor(input.GetProperty("attention_mask"), integers: true);
            var positions = input.TryGetProperty("position_ids", out var p) ? HfTinyRandom.Tensor(p, integers: true) : null;
            var reference = HfTinyRandom.Tensor(input.GetProperty("logits"));
            var d = HfTinyRandom.MaxDiffWhereMasked(model.forward(ids, mask, positions), reference, mask);
            Assert.True(d < Tolerance, $"{type} {input.GetProperty("name").GetString()}: logits differ by {d:E2}");
            Assert.True(HfTinyRandom.MaxDiffWhereMasked(unscaled.forward(ids, mask, positions), reference, mask) > 100 * Tolerance,
                "the scaling should change the logits");
            worst = Math.Max(worst, d);
        }
        output.WriteLine($"llama rope_scaling {type}: max |diff| logits {worst:E2}");
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    [InlineData("xlm_roberta")]
    [InlineData("distilbert")]
    [InlineData("modernbert")]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("gpt2_seqcls")]
    [InlineData("gpt2_tokcls")]
    public void StateDictKeysAreTheCheckpointsOwn(string arch)
    {
        using var model = ModelFolder.Load(HfTinyRandom.Dir(arch)).Module;
        var file = SafeTensors.Index(Path.Combine(HfTinyRandom.Dir(arch), "model.safetensors"));
        Assert.Equal(
            file.Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]").Order(StringComparer.Ordinal),
            model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]").Order(StringComparer.Ordinal));
    }

    /// <summary>The size budget's count from config.json alone bounds every head the family builds, and is close to the largest.</summary>
    [Theory]
    [MemberData(nameof(Encoders))]
    [MemberData(nameof(Decoders))]
    public void ParameterCountFromTheConfigBoundsEveryHead(string arch)
    {
        var config = ModelConfig.Load(Path.Combine(HfTinyRandom.Dir(arch), "config.json"));
        var counts = ModelCatalogue.Of(config).Heads.Select(h =>
        {
            using var m = h.Create(config with { Architectures = [h.Architecture] }, null).Module;
            return m.parameters().Sum(p => p.numel());
        }).ToList();
        Assert.All(counts, c => Assert.True(c <= config.ParameterCount(), $"{arch}: a head has {c} parameters, the budget counts {config.ParameterCount()}"));
        Assert.True(counts.Max() >= 0.9 * config.ParameterCount(), $"{arch}: largest head {counts.Max()}, counted {config.ParameterCount()}");
    }
}
