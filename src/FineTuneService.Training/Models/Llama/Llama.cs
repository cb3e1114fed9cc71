using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// The whole Llama forward pass with Hugging Face's names (modeling_llama.py): model.embed_tokens,
// model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj},
// model.norm, lm_head (or tied to embed_tokens). RoPE, RMSNorm, SwiGLU, grouped-query attention. Qwen2 is this with
// q/k/v biases.

/// <summary>Hugging Face <c>LlamaConfig</c>; defaults are Llama-2-7B's.</summary>
public record LlamaConfig : ModelConfig
{
    public static readonly ModelFamily Family = Heads("llama", typeof(LlamaConfig), "Llama");

    /// <summary>The family's heads under the class-name stem <paramref name="stem"/> (<c>Llama</c>, <c>Qwen2</c>).</summary>
    internal static ModelFamily Heads(string modelType, Type configType, string stem) => new(modelType, configType, "model.", stem + "ForCausalLM",
    [
        ModelFamily.Head<LlamaConfig>(stem + "ForCausalLM", ModelTask.CausalLM, (c, seed) => new LlamaForCausalLM(c, seed, stem)),
        ModelFamily.Head<LlamaConfig>(stem + "ForSequenceClassification", ModelTask.SequenceClassification, (c, seed) => new LlamaForSequenceClassification(c, seed, stem)),
    ], "byte-level BPE")
    { Graph = new(LlamaOnnx.Architectures, LlamaOnnx.Build) };

    public LlamaConfig() => VocabSize = 32000;

    [JsonPropertyName("model_type")] public override string ModelType => "llama";
    [JsonIgnore] public override int MaxPositions => MaxPositionEmbeddings;
    [JsonIgnore] public override int NumLayers => NumHiddenLayers;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 4096;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 11008;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 32;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 32;
    /// <summary>Grouped-query attention's key/value heads; null means one per attention head.</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }
    /// <summary>Null means hidden_size / num_attention_heads.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimension { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    /// <summary>Longer contexts from RoPE (transformers' modeling_rope_utils): <c>{"rope_type": "linear", "factor"}</c> or
    /// Llama 3.1's <c>{"rope_type": "llama3", "factor", "low_freq_factor", "high_freq_factor",
    /// "original_max_position_embeddings"}</c> (<c>type</c> is the older spelling of <c>rope_type</c>); null or "default" is none.</summary>
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScaling { get; init; }
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; } = 1;
    /// <summary>An id or a list of ids (Llama 3 stops at several).</summary>
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenId { get; init; } = JsonSerializer.SerializeToElement(2);

    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimension ?? HiddenSize / NumAttentionHeads;
    /// <summary>Biases of q_proj, k_proj, v_proj (Qwen2 has them) and of o_proj.</summary>
    [JsonIgnore] public virtual bool QkvBias => AttentionBias;
    [JsonIgnore] public bool OutputBias => AttentionBias;

    [JsonIgnore]
    public override IReadOnlyList<int> EosTokenIds => EosTokenId switch
    {
        { ValueKind: JsonValueKind.Number } e => [e.GetInt32()],
        { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.GetInt32()).ToArray(),
        _ => [],
    };

    public override ModelConfig SizedFor(int vocabSize, int padId, int eosId) => this with
    {
        VocabSize = vocabSize,
        PadTokenId = padId,
        BosTokenId = eosId,
        EosTokenId = JsonSerializer.SerializeToElement(eosId),
    };

    public override ModelConfig ForClassifier(int padId) => PadTokenId is null ? this with { PadTokenId = padId } : this;

    public override IEnumerable<ShapeDimension> Dimensions() =>
    [
        new("num_hidden_layers", NumHiddenLayers, ShapeLimit.Layers), new("hidden_size", HiddenSize, ShapeLimit.Width),
        new("intermediate_size", IntermediateSize, ShapeLimit.Width), new("head_dim", HeadDim, ShapeLimit.Width),
        new("num_attention_heads", NumAttentionHeads, ShapeLimit.Heads), new("num_key_value_heads", KeyValueHeads, ShapeLimit.Heads),
        new("vocab_size", VocabSize, ShapeLimit.Vocabulary), new("max_position_embeddings", MaxPositionEmbeddings, ShapeLimit.Positions),
        new("id2label", NumLabels, ShapeLimit.Labels),
    ];

    public override long ParameterCount()
    {
        checked
        {
            long h = HiddenSize, i = IntermediateSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)KeyValueHeads * HeadDim;
            var attention = h * q + 2 * h * kv + q * h + (QkvBias ? q + 2 * kv : 0) + (OutputBias ? h : 0);
            var layer = attention + 3 * h * i + (MlpBias ? 2 * i + h : 0) + 2 * h;
            // The larger of the heads: an untied lm_head, or the classifier's score.
            var head = Math.Max(TieWordEmbeddings ? 0 : (long)VocabSize * h, (long)NumLabels * h);
            return (long)VocabSize * h + NumHiddenLayers * layer + h + head;
        }
    }

    /// <summary>RoPE's inverse frequencies θ^(-2i/d), as transformers computes them for <see cref="RopeScaling"/>:
    /// "linear" divides every one by factor; "llama3" divides those whose wavelength exceeds
    /// original_max_position_embeddings / low_freq_factor, keeps those below original_max_position_embeddings /
    /// high_freq_factor, and blends the ones between. Throws the config's error for a type or field we don't build.</summary>
    public float[] InverseFrequencies()
    {
        var plain = Rotary.Frequencies(HeadDim, RopeTheta);
        if (RopeScaling is null or { ValueKind: JsonValueKind.Null }) return plain.Select(f => (float)f).ToArray();
        var scaling = RopeScaling.Value;
        Require(scaling.ValueKind == JsonValueKind.Object, "rope_scaling must be an object or null");
        string Field(string name) => $"rope_scaling.{name}";
        double Number(string name)
        {
            Require(scaling.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0, $"{Field(name)} must be a positive number");
            return scaling.GetProperty(name).GetDouble();
        }
        var type = (scaling.TryGetProperty("rope_type", out var t) || scaling.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var scaled = type switch
        {
            "default" => plain,
            "linear" => plain.Select(f => f / Number("factor")).ToArray(),
            "llama3" => Llama3(plain, Number("factor"), Number("low_freq_factor"), Number("high_freq_factor"), Number("original_max_position_embeddings")),
            // dynamic, yarn and longrope also rescale cos/sin or change with the sequence length: not built.
            _ => throw new Checkpoints.InvalidCheckpointException($"config.json: rope_scaling type '{type}' is not supported (default, linear, llama3)"),
        };
        return scaled.Select(f => (float)f).ToArray();
    }

    static double[] Llama3(double[] frequencies, double factor, double lowFreqFactor, double highFreqFactor, double originalContext)
    {
        Require(highFreqFactor > lowFreqFactor, "rope_scaling.high_freq_factor must be larger than low_freq_factor");
        double lowFreqWavelength = originalContext / lowFreqFactor, highFreqWavelength = originalContext / highFreqFactor;
        return frequencies.Select(f =>
        {
            var wavelength = 2 * Math.PI / f;
            if (wavelength < highFreqWavelength) return f;
            if (wavelength > lowFreqWavelength) return f / factor;
            var smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * f / factor + smooth * f;
        }).ToArray();
    }

    protected override void ValidateShape()
    {
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && MaxPositionEmbeddings > 0,
            "vocab_size, hidden_size, intermediate_size, num_hidden_layers and max_position_embeddings must be positive");
        Require(NumAttentionHeads > 0 && (HeadDimension is not null || HiddenSize % NumAttentionHeads == 0),
            "hidden_size must be a multiple of num_attention_heads (or head_dim given)");
        Require(HeadDim > 0 && HeadDim % 2 == 0, "head_dim must be positive and even (RoPE rotates pairs)");
        Require(KeyValueHeads > 0 && NumAttentionHeads % KeyValueHeads == 0, "num_attention_heads must be a multiple of num_key_value_heads");
        Require(PadTokenId is null || PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id must be a token id");
        Require(RopeTheta > 0, "rope_theta must be positive");
        _ = InverseFrequencies(); // rope_scaling's checks
        Require(AttentionDropout is >= 0 and < 1, "attention_dropout must be in [0, 1)");
        Require(EosTokenId is null || EosTokenId.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Number
            || EosTokenId.Value.ValueKind == JsonValueKind.Array && EosTokenId.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number),
            "eos_token_id must be an id or a list of ids");
        ModelParts.Activation(HiddenAct);
    }
}

/// <summary>x · rsqrt(mean(x²) + ε) · weight, computed in float32.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(long size, double eps) : base(nameof(RmsNorm))
    {
        weight = nn.Parameter(ones(size));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * (x32.pow(2).mean([-1], keepdim: true) + eps).rsqrt();
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary position embedding: cos and sin of position × θ^(-2i/d), each frequency twice (Hugging Face's
/// half-split layout, rotate_half).</summary>
sealed class Rotary(float[] inverseFrequencies)
{
    public Rotary(int headDim, double theta) : this(Frequencies(headDim, theta).Select(f => (float)f).ToArray()) { }

    /// <summary>θ^(-2i/d) for i in 0..d/2.</summary>
    public static double[] Frequencies(int headDim, double theta) =>
        Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / headDim)).ToArray();

    /// <summary>position_ids (B, T) → cos, sin (B, 1, T, head_dim).</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positionIds)
    {
        using var scope = NewDisposeScope();
        var inv = tensor(inverseFrequencies, device: positionIds.device);
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * inv; // (B, T, d/2)
        var emb = cat([freqs, freqs], -1).unsqueeze(1);
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return x * cos.to(x.dtype) + rotated * sin.to(x.dtype);
    }
}

public sealed class LlamaAttention : nn.Module
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly int heads, kvHeads, headDim, index;
    readonly double dropoutP;

    public LlamaAttention(LlamaConfig c, int layerIndex) : base(nameof(LlamaAttention))
    {
        heads = c.NumAttentionHeads;
        kvHeads = c.KeyValueHeads;
        headDim = c.HeadDim;
        index = layerIndex;
        dropoutP = c.AttentionDropout;
        q_proj = nn.Linear(c.HiddenSize, heads * headDim, hasBias: c.QkvBias);
        k_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: c.QkvBias);
        v_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: c.QkvBias);
        o_proj = nn.Linear(heads * headDim, c.HiddenSize, hasBias: c.OutputBias);
        RegisterComponents();
    }

    /// <summary>x (B, T, H), rotary angles (B, 1, T, d), mask (B, 1, T, past + T) bool; the cache, when given, holds
    /// the earlier keys and values and receives these → (B, T, H).</summary>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        Tensor Split(Linear proj, int n) => proj.forward(x).view(b, t, n, headDim).transpose(1, 2); // (B, n, T, d)
        var q = Rotary.Apply(Split(q_proj, heads), cos, sin);
        var k = Rotary.Apply(Split(k_proj, kvHeads), cos, sin);
        var v = Split(v_proj, kvHeads);
        if (cache is not null) (k, v) = cache.Append(index, k, v);
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, 1);
            v = v.repeat_interleave(heads / kvHeads, 1);
        }
        var y = F.scaled_dot_product_attention(q, k, v, mask, training ? dropoutP : 0);
        return o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * headDim)).MoveToOuterDisposeScope();
    }
}

/// <summary>SwiGLU: down_proj(act(gate_proj(x)) · up_proj(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;
    readonly Func<Tensor, Tensor> act;

    public LlamaMlp(LlamaConfig c) : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: c.MlpBias);
        act = ModelParts.Activation(c.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(act(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}

public sealed class LlamaDecoderLayer : nn.Module
{
    readonly RmsNorm input_layernorm, post_attention_layernorm;
    readonly LlamaAttention self_attn;
    readonly LlamaMlp mlp;

    public LlamaDecoderLayer(LlamaConfig c, int layerIndex) : base(nameof(LlamaDecoderLayer))
    {
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        self_attn = new LlamaAttention(c, layerIndex);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        mlp = new LlamaMlp(c);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        x = x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask, cache);
        return (x + mlp.forward(post_attention_layernorm.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary><c>model.*</c>: token embeddings, the decoder layers, the final RMSNorm.</summary>
public sealed class LlamaModel : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaDecoderLayer> layers;
    readonly RmsNorm norm;
    readonly Rotary rotary;
    readonly int maxPositions;

    public LlamaModel(LlamaConfig c) : base(nameof(LlamaModel))
    {
        embed_tokens = c.PadTokenId is { } pad ? nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: pad) : nn.Embedding(c.VocabSize, c.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(i => new LlamaDecoderLayer(c, i)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        rotary = new Rotary(c.InverseFrequencies());
        maxPositions = c.MaxPositionEmbeddings;
        RegisterComponents();
    }

    public Parameter TokenEmbeddings => embed_tokens.weight!;

    /// <summary>Hugging Face's init of a task model around this one: every weight drawn, the padding row zero.</summary>
    public void Initialize(nn.Module taskModel, LlamaConfig config, long? seed)
    {
        ModelParts.Initialize(taskModel, config.InitializerRange, seed);
        if (seed is null || config.PadTokenId is not { } pad) return;
        using var noGrad = no_grad();
        embed_tokens.weight![pad].zero_();
    }

    /// <summary>input_ids (B, T); attention_mask (B, past + T) or null when nothing is padding; position_ids (B, T) or
    /// null for past..past+T-1; a cache for generation → hidden states after the final norm (B, T, H).
    /// <paramref name="hiddenStates"/>, when given, receives the embeddings' output, each layer's but the last, and the result.</summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null,
        List<Tensor>? hiddenStates = null)
    {
        long t = inputIds.shape[1], past = cache?.Length ?? 0;
        ModelParts.RequireLength(past + t, maxPositions, "max_position_embeddings");
        using var scope = NewDisposeScope();
        var device = inputIds.device;
        positionIds ??= arange(past, past + t, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(inputIds.shape[0], t);
        attentionMask ??= ones(inputIds.shape[0], past + t, dtype: ScalarType.Int64, device: device);
        var mask = CausalMask.Build(attentionMask, t);
        var (cos, sin) = rotary.Angles(positionIds);
        return ModelParts.Decode(embed_tokens.forward(inputIds), layers.Count, (i, x) => layers[i].forward(x, cos, sin, mask, cache), norm.forward,
            hiddenStates).MoveToOuterDisposeScope();
    }
}

/// <summary><c>model.*</c> + <c>lm_head</c> (absent when tied to <c>model.embed_tokens</c>).</summary>
public sealed class LlamaForCausalLM : CausalLMHead<LlamaConfig>
{
    readonly LlamaModel model;
    readonly Linear? lm_head;

    public LlamaForCausalLM(LlamaConfig config, long? seed = 42, string stem = "Llama") : base(stem + "ForCausalLM", config)
    {
        config.Validate();
        model = new LlamaModel(config);
        lm_head = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
        model.Initialize(this, config, seed);
    }

    public override Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask, positionIds, cache);
        return (lm_head is null ? F.linear(hidden, model.TokenEmbeddings) : lm_head.forward(hidden)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>model.*</c> + <c>score</c>.</summary>
public sealed class LlamaForSequenceClassification : DecoderClassifierHead<LlamaConfig>
{
    readonly LlamaModel model;

    public LlamaForSequenceClassification(LlamaConfig config, long? seed = 42, string stem = "Llama")
        : base(stem + "ForSequenceClassification", config, config.HiddenSize)
    {
        config.Validate();
        model = new LlamaModel(config);
        RegisterComponents();
        model.Initialize(this, config, seed);
    }

    protected override Tensor Hidden(Batch batch) => model.forward(batch.InputIds, batch.AttentionMask);
}
