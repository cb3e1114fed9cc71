using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// The whole GPT-2 forward pass with Hugging Face's module names (modeling_gpt2.py):
// transformer.wte / wpe / h.{i}.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj} / ln_f.

/// <summary>Hugging Face <c>GPT2Config</c>; defaults are gpt2 (124M)'s.</summary>
public sealed record Gpt2Config : ModelConfig
{
    public static readonly ModelFamily Family = new("gpt2", typeof(Gpt2Config), "transformer.", "GPT2LMHeadModel",
    [
        ModelFamily.Head<Gpt2Config>("GPT2LMHeadModel", ModelTask.CausalLM, (c, seed) => new Gpt2LMHeadModel(c, seed)),
        ModelFamily.Head<Gpt2Config>("GPT2ForSequenceClassification", ModelTask.SequenceClassification, (c, seed) => new Gpt2ForSequenceClassification(c, seed)),
        ModelFamily.Head<Gpt2Config>("GPT2ForTokenClassification", ModelTask.TokenClassification, (c, seed) => new Gpt2ForTokenClassification(c, seed)),
    ], "byte-level BPE")
    { Graph = new(Gpt2Onnx.Architectures, Gpt2Onnx.Build) };

    public Gpt2Config() => VocabSize = 50257;

    [JsonPropertyName("model_type")] public override string ModelType => "gpt2";
    [JsonIgnore] public override int MaxPositions => NPositions;
    [JsonIgnore] public override int NumLayers => NLayer;
    [JsonIgnore] public override IReadOnlyList<int> EosTokenIds => [EosTokenId];
    [JsonPropertyName("n_embd")] public int NEmbd { get; init; } = 768;
    [JsonPropertyName("n_layer")] public int NLayer { get; init; } = 12;
    [JsonPropertyName("n_head")] public int NHead { get; init; } = 12;
    [JsonPropertyName("n_positions")] public int NPositions { get; init; } = 1024;
    /// <summary>MLP width; null means 4 × n_embd.</summary>
    [JsonPropertyName("n_inner")] public int? NInner { get; init; }
    [JsonPropertyName("activation_function")] public string ActivationFunction { get; init; } = "gelu_new";
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-5;
    [JsonPropertyName("resid_pdrop")] public double ResidPdrop { get; init; } = 0.1;
    [JsonPropertyName("embd_pdrop")] public double EmbdPdrop { get; init; } = 0.1;
    [JsonPropertyName("attn_pdrop")] public double AttnPdrop { get; init; } = 0.1;
    [JsonPropertyName("bos_token_id")] public int BosTokenId { get; init; } = 50256;
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; } = 50256;
    /// <summary>GPT-2 has none; a sequence classifier's export names one, which is how Hugging Face finds the last real token.</summary>
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    /// <summary>Not GPT2Config fields: the token classifier's dropout is classifier_dropout, else hidden_dropout, else 0.1,
    /// as Hugging Face's GPT2ForTokenClassification reads them from whatever config.json holds.</summary>
    [JsonPropertyName("classifier_dropout")] public double? ClassifierDropout { get; init; }
    [JsonPropertyName("hidden_dropout")] public double? HiddenDropout { get; init; }

    public static new Gpt2Config Load(string path) => ModelConfig.Load(path) as Gpt2Config
        ?? throw new Checkpoints.InvalidCheckpointException($"'{Path.GetFileName(path)}' is not a GPT-2 config");

    public override ModelConfig SizedFor(int vocabSize, int padId, int eosId) => this with { VocabSize = vocabSize, BosTokenId = eosId, EosTokenId = eosId };

    public override ModelConfig ForClassifier(int padId) => PadTokenId is null ? this with { PadTokenId = padId } : this;

    protected override void ValidateShape()
    {
        Require(VocabSize > 0 && NEmbd > 0 && NLayer > 0 && NPositions > 0 && NInner is null or > 0,
            "vocab_size, n_embd, n_layer, n_positions and n_inner must be positive");
        Require(NHead > 0 && NEmbd % NHead == 0, "n_embd must be a multiple of n_head");
        Require(PadTokenId is null || PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id must be a token id");
        Require(ResidPdrop is >= 0 and < 1 && EmbdPdrop is >= 0 and < 1 && AttnPdrop is >= 0 and < 1
            && ClassifierDropout is null or (>= 0 and < 1) && HiddenDropout is null or (>= 0 and < 1), "dropout probabilities must be in [0, 1)");
        ModelParts.Activation(ActivationFunction);
    }

    public override IEnumerable<ShapeDimension> Dimensions() =>
    [
        new("n_layer", NLayer, ShapeLimit.Layers), new("n_embd", NEmbd, ShapeLimit.Width), new("n_inner", NInner ?? 4L * NEmbd, ShapeLimit.Width),
        new("n_head", NHead, ShapeLimit.Heads), new("vocab_size", VocabSize, ShapeLimit.Vocabulary),
        new("n_positions", NPositions, ShapeLimit.Positions), new("id2label", NumLabels, ShapeLimit.Labels),
    ];

    public override long ParameterCount()
    {
        checked
        {
            long e = NEmbd, inner = NInner ?? 4L * NEmbd;
            var block = 2 * e + (3 * e * e + 3 * e) + (e * e + e) + 2 * e + (e * inner + inner) + (inner * e + e);
            // lm_head is tied to wte, so the largest head is the token classifier (score has no bias).
            return ((long)VocabSize + NPositions) * e + NLayer * block + 2 * e + NumLabels * (e + 1);
        }
    }
}

/// <summary>GPT-2's "Conv1D": a linear layer whose weight is stored (in, out), as in Hugging Face checkpoints.</summary>
public sealed class Conv1D : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter bias;

    public Conv1D(long inFeatures, long outFeatures) : base(nameof(Conv1D))
    {
        weight = nn.Parameter(empty(inFeatures, outFeatures));
        bias = nn.Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => matmul(x, weight) + bias;
}

public sealed class Gpt2Attention : nn.Module
{
    readonly Conv1D c_attn, c_proj;
    readonly Dropout resid_dropout;
    readonly int heads, index;
    readonly double attnDropout;

    public Gpt2Attention(Gpt2Config c, int layerIndex) : base(nameof(Gpt2Attention))
    {
        index = layerIndex;
        c_attn = new Conv1D(c.NEmbd, 3 * c.NEmbd);
        c_proj = new Conv1D(c.NEmbd, c.NEmbd);
        resid_dropout = nn.Dropout(c.ResidPdrop);
        heads = c.NHead;
        attnDropout = c.AttnPdrop;
        RegisterComponents();
    }

    public Conv1D Projection => c_proj;

    /// <summary>x (B, T, E); mask (B, 1, T, past + T) bool or null for plain causal attention; the cache, when given,
    /// holds the earlier keys and values and receives these.</summary>
    public Tensor forward(Tensor x, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], e = x.shape[2];
        var qkv = c_attn.forward(x).view(b, t, 3, heads, e / heads).permute(2, 0, 3, 1, 4); // (3, B, heads, T, head_dim)
        var (k, v) = cache is null ? (qkv[1], qkv[2]) : cache.Append(index, qkv[1], qkv[2]);
        var y = F.scaled_dot_product_attention(qkv[0], k, v, mask, training ? attnDropout : 0, is_casual: mask is null);
        return resid_dropout.forward(c_proj.forward(y.transpose(1, 2).reshape(b, t, e))).MoveToOuterDisposeScope();
    }
}

public sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    readonly Conv1D c_fc, c_proj;
    readonly Dropout dropout;
    readonly Func<Tensor, Tensor> act;

    public Gpt2Mlp(Gpt2Config c) : base(nameof(Gpt2Mlp))
    {
        var inner = c.NInner ?? 4 * c.NEmbd;
        c_fc = new Conv1D(c.NEmbd, inner);
        c_proj = new Conv1D(inner, c.NEmbd);
        dropout = nn.Dropout(c.ResidPdrop);
        act = ModelParts.Activation(c.ActivationFunction);
        RegisterComponents();
    }

    public Conv1D Projection => c_proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return dropout.forward(c_proj.forward(act(c_fc.forward(x)))).MoveToOuterDisposeScope();
    }
}

public sealed class Gpt2Block : nn.Module
{
    readonly LayerNorm ln_1, ln_2;
    readonly Gpt2Attention attn;
    readonly Gpt2Mlp mlp;

    public Gpt2Block(Gpt2Config c, int layerIndex) : base(nameof(Gpt2Block))
    {
        ln_1 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon);
        attn = new Gpt2Attention(c, layerIndex);
        ln_2 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon);
        mlp = new Gpt2Mlp(c);
        RegisterComponents();
    }

    public IEnumerable<Conv1D> Projections => [attn.Projection, mlp.Projection];

    public Tensor forward(Tensor x, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        x = x + attn.forward(ln_1.forward(x), mask, cache);
        return (x + mlp.forward(ln_2.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary><c>transformer.*</c>: token and position embeddings, the blocks, the final LayerNorm.</summary>
public sealed class Gpt2Model : nn.Module
{
    readonly Embedding wte, wpe;
    readonly Dropout drop;
    readonly ModuleList<Gpt2Block> h;
    readonly LayerNorm ln_f;

    readonly int maxPositions;

    public Gpt2Model(Gpt2Config c) : base(nameof(Gpt2Model))
    {
        maxPositions = c.NPositions;
        wte = nn.Embedding(c.VocabSize, c.NEmbd);
        wpe = nn.Embedding(c.NPositions, c.NEmbd);
        drop = nn.Dropout(c.EmbdPdrop);
        h = nn.ModuleList(Enumerable.Range(0, c.NLayer).Select(i => new Gpt2Block(c, i)).ToArray());
        ln_f = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon);
        RegisterComponents();
    }

    public Parameter TokenEmbeddings => wte.weight!;

    /// <summary>Hugging Face's init of a task model around this one: every weight drawn, then the residual projections
    /// (c_proj) scaled by 1/sqrt(2 · n_layer).</summary>
    public void Initialize(nn.Module taskModel, Gpt2Config config, long? seed)
    {
        ModelParts.Initialize(taskModel, config.InitializerRange, seed);
        if (seed is null) return;
        var generator = new Generator((ulong)seed.Value + 1);
        foreach (var proj in h.SelectMany(b => b.Projections))
        {
            ModelParts.Normal(proj.weight, config.InitializerRange / Math.Sqrt(2.0 * config.NLayer), generator);
        }
    }

    /// <summary>input_ids (B, T); attention_mask (B, past + T) or null when no position is padding; position_ids (B, T)
    /// or null for past..past+T-1; a cache for generation → hidden states after ln_f (B, T, E).
    /// <paramref name="hiddenStates"/>, when given, receives the embeddings' output, each block's but the last, and the result.</summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null,
        List<Tensor>? hiddenStates = null)
    {
        long t = inputIds.shape[1], past = cache?.Length ?? 0;
        ModelParts.RequireLength(past + t, maxPositions, "n_positions");
        using var scope = NewDisposeScope();
        positionIds ??= arange(past, past + t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var x = drop.forward(wte.forward(inputIds) + wpe.forward(positionIds));
        var mask = attentionMask is null && past == 0 ? null
            : CausalMask.Build(attentionMask ?? ones(inputIds.shape[0], past + t, dtype: ScalarType.Int64, device: inputIds.device), t);
        var blocks = h.ToArray();
        return ModelParts.Decode(x, blocks.Length, (i, y) => blocks[i].forward(y, mask, cache), ln_f.forward, hiddenStates).MoveToOuterDisposeScope();
    }
}

/// <summary>GPT-2 with its language-model head: <c>transformer.*</c>; <c>lm_head</c> is tied to <c>transformer.wte</c>
/// (so, as in Hugging Face's saved files, it is not a key of its own).</summary>
public sealed class Gpt2LMHeadModel : CausalLMHead<Gpt2Config>
{
    readonly Gpt2Model transformer;

    public Gpt2LMHeadModel(Gpt2Config config, long? seed = 42) : base("GPT2LMHeadModel", config)
    {
        config.Validate();
        transformer = new Gpt2Model(config);
        RegisterComponents();
        transformer.Initialize(this, config, seed);
    }

    public override Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = transformer.forward(inputIds, attentionMask, positionIds, cache);
        return F.linear(hidden, transformer.TokenEmbeddings).MoveToOuterDisposeScope();
    }
}

/// <summary><c>transformer.*</c> + <c>score</c>.</summary>
public sealed class Gpt2ForSequenceClassification : DecoderClassifierHead<Gpt2Config>
{
    readonly Gpt2Model transformer;

    public Gpt2ForSequenceClassification(Gpt2Config config, long? seed = 42) : base("GPT2ForSequenceClassification", config, config.NEmbd)
    {
        config.Validate();
        transformer = new Gpt2Model(config);
        RegisterComponents();
        transformer.Initialize(this, config, seed);
    }

    protected override Tensor Hidden(Batch batch) => transformer.forward(batch.InputIds, batch.AttentionMask);
}

/// <summary><c>transformer.*</c> + <c>classifier.*</c> (with bias) on every position, -100 = ignored.</summary>
public sealed class Gpt2ForTokenClassification : TokenClassifierHead<Gpt2Config>
{
    readonly Gpt2Model transformer;

    public Gpt2ForTokenClassification(Gpt2Config config, long? seed = 42)
        : base("GPT2ForTokenClassification", config, config.NEmbd, config.ClassifierDropout ?? config.HiddenDropout ?? 0.1)
    {
        config.Validate();
        transformer = new Gpt2Model(config);
        RegisterComponents();
        transformer.Initialize(this, config, seed);
    }

    protected override Tensor Hidden(Batch batch) => transformer.forward(batch.InputIds, batch.AttentionMask);
}
