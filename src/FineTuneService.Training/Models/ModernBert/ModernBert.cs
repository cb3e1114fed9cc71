using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// The whole ModernBERT forward pass with Hugging Face's names (modeling_modernbert.py, transformers 4.48):
// model.embeddings.{tok_embeddings, norm}, model.layers.{i}.{attn_norm (none in layer 0), attn.Wqkv, attn.Wo, mlp_norm,
// mlp.Wi, mlp.Wo}, model.final_norm; heads head.{dense, norm} + classifier / decoder (tied). Pre-norm blocks, RoPE,
// global attention every global_attn_every_n_layers layers and a sliding window of local_attention tokens between,
// GeGLU, no biases by default. Eager attention on padded batches (no unpadding), as the references were computed.

/// <summary>Hugging Face <c>ModernBertConfig</c>; defaults are ModernBERT-base's.</summary>
public sealed record ModernBertConfig : ModelConfig
{
    public static readonly ModelFamily Family = new("modernbert", typeof(ModernBertConfig), "model.", "ModernBertModel",
    [
        ModelFamily.Head<ModernBertConfig>(nameof(ModernBertForSequenceClassification), ModelTask.SequenceClassification, (c, seed) => new ModernBertForSequenceClassification(c, seed)),
        ModelFamily.Head<ModernBertConfig>(nameof(ModernBertForTokenClassification), ModelTask.TokenClassification, (c, seed) => new ModernBertForTokenClassification(c, seed)),
        ModelFamily.Head<ModernBertConfig>(nameof(ModernBertForMaskedLM), ModelTask.MaskedLM, (c, seed) => new ModernBertForMaskedLM(c, seed)),
    ], "byte-level BPE")
    { Graph = new(ModernBertOnnx.Architectures, ModernBertOnnx.Build) };

    public ModernBertConfig() => VocabSize = 50368;

    [JsonPropertyName("model_type")] public override string ModelType => "modernbert";
    [JsonIgnore] public override int MaxPositions => MaxPositionEmbeddings;
    [JsonIgnore] public override int NumLayers => NumHiddenLayers;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 1152;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 22;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 12;
    [JsonPropertyName("hidden_activation")] public string HiddenActivation { get; init; } = "gelu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 8192;
    [JsonPropertyName("norm_eps")] public double NormEps { get; init; } = 1e-5;
    [JsonPropertyName("norm_bias")] public bool NormBias { get; init; }
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; } = 50283;
    [JsonPropertyName("global_rope_theta")] public double GlobalRopeTheta { get; init; } = 160000;
    [JsonPropertyName("local_rope_theta")] public double LocalRopeTheta { get; init; } = 10000;
    [JsonPropertyName("global_attn_every_n_layers")] public int GlobalAttnEveryNLayers { get; init; } = 3;
    /// <summary>The sliding window's width: a local layer's token sees those within local_attention / 2 either side.</summary>
    [JsonPropertyName("local_attention")] public int LocalAttention { get; init; } = 128;
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; }
    [JsonPropertyName("embedding_dropout")] public double EmbeddingDropout { get; init; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }
    [JsonPropertyName("mlp_dropout")] public double MlpDropout { get; init; }
    [JsonPropertyName("decoder_bias")] public bool DecoderBias { get; init; } = true;
    [JsonPropertyName("classifier_pooling")] public string ClassifierPooling { get; init; } = "cls";
    [JsonPropertyName("classifier_dropout")] public double ClassifierDropout { get; init; }
    [JsonPropertyName("classifier_bias")] public bool ClassifierBias { get; init; }
    [JsonPropertyName("classifier_activation")] public string ClassifierActivation { get; init; } = "gelu";

    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    public bool IsGlobal(int layer) => layer % GlobalAttnEveryNLayers == 0;

    public override ModelConfig SizedFor(int vocabSize, int padId, int eosId) => this with { VocabSize = vocabSize, PadTokenId = padId };

    public override IEnumerable<ShapeDimension> Dimensions() =>
    [
        new("num_hidden_layers", NumHiddenLayers, ShapeLimit.Layers), new("hidden_size", HiddenSize, ShapeLimit.Width),
        new("intermediate_size", IntermediateSize, ShapeLimit.Width), new("num_attention_heads", NumAttentionHeads, ShapeLimit.Heads),
        new("vocab_size", VocabSize, ShapeLimit.Vocabulary), new("max_position_embeddings", MaxPositionEmbeddings, ShapeLimit.Positions),
        new("id2label", NumLabels, ShapeLimit.Labels),
    ];

    public override long ParameterCount()
    {
        checked
        {
            long h = HiddenSize, i = IntermediateSize, norm = NormBias ? 2 * h : h;
            var layer = norm + (3 * h * h + (AttentionBias ? 3 * h : 0)) + (h * h + (AttentionBias ? h : 0))
                + norm + (2 * h * i + (MlpBias ? 2 * i : 0)) + (i * h + (MlpBias ? h : 0));
            var head = h * h + (ClassifierBias ? h : 0) + norm;
            var top = Math.Max(DecoderBias ? VocabSize : 0, (long)NumLabels * (h + 1));
            return (long)VocabSize * h + norm + NumHiddenLayers * layer + norm + head + top;
        }
    }

    protected override void ValidateShape()
    {
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && MaxPositionEmbeddings > 0,
            "vocab_size, hidden_size, intermediate_size, num_hidden_layers and max_position_embeddings must be positive");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0 && HeadDim % 2 == 0,
            "hidden_size must be a multiple of num_attention_heads, with an even head size (RoPE rotates pairs)");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id must be a token id");
        Require(GlobalAttnEveryNLayers > 0 && LocalAttention > 0, "global_attn_every_n_layers and local_attention must be positive");
        Require(GlobalRopeTheta > 0 && LocalRopeTheta > 0, "rope thetas must be positive");
        Require(ClassifierPooling is "cls" or "mean", $"classifier_pooling '{ClassifierPooling}' is not supported (cls, mean)");
        Require(AttentionDropout is >= 0 and < 1 && EmbeddingDropout is >= 0 and < 1 && MlpDropout is >= 0 and < 1 && ClassifierDropout is >= 0 and < 1,
            "dropout probabilities must be in [0, 1)");
        ModelParts.Activation(HiddenActivation);
        ModelParts.Activation(ClassifierActivation);
    }
}

/// <summary>LayerNorm whose bias is optional (ModernBERT's norm_bias false leaves it out).</summary>
public sealed class ModernBertNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly double eps;

    public ModernBertNorm(long size, double eps, bool hasBias) : base(nameof(ModernBertNorm))
    {
        weight = nn.Parameter(ones(size));
        bias = hasBias ? nn.Parameter(zeros(size)) : null;
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => F.layer_norm(x, [x.shape[^1]], weight, bias, eps);
}

public sealed class ModernBertAttention : nn.Module
{
    readonly Linear Wqkv, Wo;
    readonly Dropout out_drop;
    readonly int heads;
    readonly double dropoutP;

    public ModernBertAttention(ModernBertConfig c) : base(nameof(ModernBertAttention))
    {
        Wqkv = nn.Linear(c.HiddenSize, 3 * c.HiddenSize, hasBias: c.AttentionBias);
        Wo = nn.Linear(c.HiddenSize, c.HiddenSize, hasBias: c.AttentionBias);
        out_drop = nn.Dropout(c.AttentionDropout);
        heads = c.NumAttentionHeads;
        dropoutP = c.AttentionDropout;
        RegisterComponents();
    }

    /// <summary>x (B, T, H), rotary angles (1, 1, T, d), mask (B, 1, T, T) bool → (B, T, H).</summary>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], h = x.shape[2];
        var qkv = Wqkv.forward(x).view(b, t, 3, heads, h / heads).permute(2, 0, 3, 1, 4); // (3, B, heads, T, d)
        var y = F.scaled_dot_product_attention(Rotary.Apply(qkv[0], cos, sin), Rotary.Apply(qkv[1], cos, sin), qkv[2], mask, training ? dropoutP : 0);
        return out_drop.forward(Wo.forward(y.transpose(1, 2).reshape(b, t, h))).MoveToOuterDisposeScope();
    }
}

/// <summary>GeGLU: Wo(drop(act(input) · gate)) where input | gate = Wi(x).</summary>
public sealed class ModernBertMlp : nn.Module<Tensor, Tensor>
{
    readonly Linear Wi, Wo;
    readonly Dropout drop;
    readonly Func<Tensor, Tensor> act;

    public ModernBertMlp(ModernBertConfig c) : base(nameof(ModernBertMlp))
    {
        Wi = nn.Linear(c.HiddenSize, 2 * c.IntermediateSize, hasBias: c.MlpBias);
        Wo = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: c.MlpBias);
        drop = nn.Dropout(c.MlpDropout);
        act = ModelParts.Activation(c.HiddenActivation);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var both = Wi.forward(x).chunk(2, -1);
        return Wo.forward(drop.forward(act(both[0]) * both[1])).MoveToOuterDisposeScope();
    }
}

public sealed class ModernBertLayer : nn.Module
{
    readonly ModernBertNorm? attn_norm;
    readonly ModernBertAttention attn;
    readonly ModernBertNorm mlp_norm;
    readonly ModernBertMlp mlp;

    public ModernBertLayer(ModernBertConfig c, int layerIndex) : base(nameof(ModernBertLayer))
    {
        // The embeddings end in a norm, so the first layer's attention takes them as they are.
        attn_norm = layerIndex == 0 ? null : new ModernBertNorm(c.HiddenSize, c.NormEps, c.NormBias);
        attn = new ModernBertAttention(c);
        mlp_norm = new ModernBertNorm(c.HiddenSize, c.NormEps, c.NormBias);
        mlp = new ModernBertMlp(c);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        x = x + attn.forward(attn_norm?.forward(x) ?? x, cos, sin, mask);
        return (x + mlp.forward(mlp_norm.forward(x))).MoveToOuterDisposeScope();
    }
}

public sealed class ModernBertEmbeddings : nn.Module<Tensor, Tensor>
{
    readonly Embedding tok_embeddings;
    readonly ModernBertNorm norm;
    readonly Dropout drop;

    public ModernBertEmbeddings(ModernBertConfig c) : base(nameof(ModernBertEmbeddings))
    {
        tok_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        norm = new ModernBertNorm(c.HiddenSize, c.NormEps, c.NormBias);
        drop = nn.Dropout(c.EmbeddingDropout);
        RegisterComponents();
    }

    public Parameter TokenEmbeddings => tok_embeddings.weight!;

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return drop.forward(norm.forward(tok_embeddings.forward(inputIds))).MoveToOuterDisposeScope();
    }
}

/// <summary><c>model.*</c>: embeddings, the layers, final_norm.</summary>
public sealed class ModernBertModel : nn.Module
{
    readonly ModernBertEmbeddings embeddings;
    readonly ModuleList<ModernBertLayer> layers;
    readonly ModernBertNorm final_norm;
    readonly Rotary globalRotary, localRotary;

    public ModernBertModel(ModernBertConfig config, long? seed = 42) : base(nameof(ModernBertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new ModernBertEmbeddings(config);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new ModernBertLayer(config, i)).ToArray());
        final_norm = new ModernBertNorm(config.HiddenSize, config.NormEps, config.NormBias);
        globalRotary = new Rotary(config.HeadDim, config.GlobalRopeTheta);
        localRotary = new Rotary(config.HeadDim, config.LocalRopeTheta);
        RegisterComponents();
        ModelParts.Initialize(this, config.InitializerRange, seed);
        if (seed is null) return;
        using var noGrad = no_grad();
        embeddings.TokenEmbeddings[config.PadTokenId].zero_();
    }

    public ModernBertConfig Config { get; }
    public Parameter TokenEmbeddings => embeddings.TokenEmbeddings;

    /// <summary>input_ids, attention_mask (B, T) → last_hidden_state (B, T, H) after final_norm. <paramref name="hiddenStates"/>,
    /// when given, receives what Hugging Face reports: the embeddings' output and each layer's (before final_norm).</summary>
    public Tensor forward(Tensor inputIds, Tensor attentionMask, List<Tensor>? hiddenStates = null)
    {
        long t = inputIds.shape[1];
        ModelParts.RequireLength(t, Config.MaxPositions, "max_position_embeddings");
        using var scope = NewDisposeScope();
        var device = inputIds.device;
        var keys = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
        var place = arange(t, dtype: ScalarType.Int64, device: device);
        var window = (place.unsqueeze(0) - place.unsqueeze(1)).abs() <= Config.LocalAttention / 2; // (T, T)
        var globalMask = keys | eye(t, dtype: ScalarType.Bool, device: device);
        var localMask = (keys & window) | eye(t, dtype: ScalarType.Bool, device: device);
        var positions = place.unsqueeze(0);
        var (gcos, gsin) = globalRotary.Angles(positions);
        var (lcos, lsin) = localRotary.Angles(positions);
        var x = embeddings.forward(inputIds);
        hiddenStates?.Add(x.MoveToOuterDisposeScope());
        for (int i = 0; i < layers.Count; i++)
        {
            x = Config.IsGlobal(i) ? layers[i].forward(x, gcos, gsin, globalMask) : layers[i].forward(x, lcos, lsin, localMask);
            hiddenStates?.Add(x.MoveToOuterDisposeScope());
        }
        return final_norm.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary><c>head.dense</c> → activation → <c>head.norm</c>: the transform under every ModernBERT head.</summary>
public sealed class ModernBertPredictionHead : nn.Module<Tensor, Tensor>
{
    readonly Linear dense;
    readonly ModernBertNorm norm;
    readonly Func<Tensor, Tensor> act;

    public ModernBertPredictionHead(ModernBertConfig c) : base(nameof(ModernBertPredictionHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, hasBias: c.ClassifierBias);
        act = ModelParts.Activation(c.ClassifierActivation);
        norm = new ModernBertNorm(c.HiddenSize, c.NormEps, c.NormBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return norm.forward(act(dense.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary><c>model.*</c> + <c>head.*</c> + <c>classifier.*</c> over the [CLS] state (or the mean of the real tokens'
/// with classifier_pooling mean).</summary>
public sealed class ModernBertForSequenceClassification : SequenceClassifierHead<ModernBertConfig>
{
    readonly ModernBertModel model;
    readonly ModernBertPredictionHead head;
    readonly Dropout drop;
    readonly Linear classifier;

    public ModernBertForSequenceClassification(ModernBertConfig config, long? seed = 42) : base(nameof(ModernBertForSequenceClassification), config)
    {
        model = new ModernBertModel(config, seed);
        head = new ModernBertPredictionHead(config);
        drop = nn.Dropout(config.ClassifierDropout);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        ModelParts.Initialize(head, config.InitializerRange, seed);
        ModelParts.Initialize(classifier, config.InitializerRange, seed is null ? null : seed + 1);
    }

    protected override Tensor Logits(Batch batch)
    {
        var hidden = model.forward(batch.InputIds, batch.AttentionMask);
        var mask = batch.AttentionMask.to(hidden.dtype).unsqueeze(-1);
        var pooled = Config.ClassifierPooling == "mean" ? (hidden * mask).sum(1) / mask.sum(1) : hidden.select(1, 0);
        return classifier.forward(drop.forward(head.forward(pooled))); // (B, C)
    }
}

/// <summary><c>model.*</c> + <c>head.*</c> + <c>classifier.*</c>: one label per token, -100 = ignored.</summary>
public sealed class ModernBertForTokenClassification : TaskHead<ModernBertConfig>
{
    readonly ModernBertModel model;
    readonly ModernBertPredictionHead head;
    readonly Dropout drop;
    readonly Linear classifier;

    public ModernBertForTokenClassification(ModernBertConfig config, long? seed = 42) : base(nameof(ModernBertForTokenClassification), config)
    {
        model = new ModernBertModel(config, seed);
        head = new ModernBertPredictionHead(config);
        drop = nn.Dropout(config.ClassifierDropout);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        ModelParts.Initialize(head, config.InitializerRange, seed);
        ModelParts.Initialize(classifier, config.InitializerRange, seed is null ? null : seed + 1);
    }

    protected override Tensor Logits(Batch batch) => classifier.forward(drop.forward(head.forward(model.forward(batch.InputIds, batch.AttentionMask)))); // (B, T, C)
}

/// <summary><c>model.*</c> + <c>head.*</c> + <c>decoder</c> (weight tied to the token embeddings, its own bias).</summary>
public sealed class ModernBertForMaskedLM : TaskHead<ModernBertConfig>
{
    readonly ModernBertModel model;
    readonly ModernBertPredictionHead head;
    readonly TiedProjection? decoder;

    public ModernBertForMaskedLM(ModernBertConfig config, long? seed = 42) : base(nameof(ModernBertForMaskedLM), config)
    {
        model = new ModernBertModel(config, seed);
        head = new ModernBertPredictionHead(config);
        decoder = config.DecoderBias ? new TiedProjection(config.VocabSize) : null;
        RegisterComponents();
        ModelParts.Initialize(head, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch)
    {
        var transformed = head.forward(model.forward(batch.InputIds, batch.AttentionMask));
        return decoder?.forward(transformed, model.TokenEmbeddings) ?? F.linear(transformed, model.TokenEmbeddings); // (B, T, V)
    }
}
