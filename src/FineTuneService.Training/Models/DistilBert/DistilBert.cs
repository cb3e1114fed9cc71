using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// The whole DistilBERT forward pass with Hugging Face's names (modeling_distilbert.py): distilbert.embeddings.*,
// distilbert.transformer.layer.{i}.{attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin1, ffn.lin2, output_layer_norm}.
// No token types, no pooler.

/// <summary>Hugging Face <c>DistilBertConfig</c>; defaults are distilbert-base-uncased's.</summary>
public sealed record DistilBertConfig : ModelConfig
{
    public static readonly ModelFamily Family = new("distilbert", typeof(DistilBertConfig), "distilbert.", "DistilBertModel",
    [
        ModelFamily.Head<DistilBertConfig>(nameof(DistilBertForSequenceClassification), ModelTask.SequenceClassification, (c, seed) => new DistilBertForSequenceClassification(c, seed)),
        ModelFamily.Head<DistilBertConfig>(nameof(DistilBertForTokenClassification), ModelTask.TokenClassification, (c, seed) => new DistilBertForTokenClassification(c, seed)),
        ModelFamily.Head<DistilBertConfig>(nameof(DistilBertForMaskedLM), ModelTask.MaskedLM, (c, seed) => new DistilBertForMaskedLM(c, seed)),
    ], "WordPiece")
    { Graph = new(DistilBertOnnx.Architectures, DistilBertOnnx.Build) };

    /// <summary>DistilBERT's LayerNorms use a fixed epsilon; the config has no field for it.</summary>
    public const double LayerNormEps = 1e-12;

    public DistilBertConfig() => VocabSize = 30522;

    [JsonPropertyName("model_type")] public override string ModelType => "distilbert";
    [JsonIgnore] public override int MaxPositions => MaxPositionEmbeddings;
    [JsonIgnore] public override int NumLayers => NLayers;
    [JsonPropertyName("dim")] public int Dim { get; init; } = 768;
    [JsonPropertyName("n_layers")] public int NLayers { get; init; } = 6;
    [JsonPropertyName("n_heads")] public int NHeads { get; init; } = 12;
    [JsonPropertyName("hidden_dim")] public int HiddenDim { get; init; } = 3072;
    [JsonPropertyName("activation")] public string Activation { get; init; } = "gelu";
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; } = 0.1;
    [JsonPropertyName("seq_classif_dropout")] public double SeqClassifDropout { get; init; } = 0.2;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }

    public override ModelConfig SizedFor(int vocabSize, int padId, int eosId) => this with { VocabSize = vocabSize, PadTokenId = padId };

    public override IEnumerable<ShapeDimension> Dimensions() =>
    [
        new("n_layers", NLayers, ShapeLimit.Layers), new("dim", Dim, ShapeLimit.Width), new("hidden_dim", HiddenDim, ShapeLimit.Width),
        new("n_heads", NHeads, ShapeLimit.Heads), new("vocab_size", VocabSize, ShapeLimit.Vocabulary),
        new("max_position_embeddings", MaxPositionEmbeddings, ShapeLimit.Positions), new("id2label", NumLabels, ShapeLimit.Labels),
    ];

    public override long ParameterCount()
    {
        checked
        {
            long d = Dim, i = HiddenDim;
            var embeddings = ((long)VocabSize + MaxPositionEmbeddings) * d + 2 * d;
            var layer = 4 * (d * d + d) + 2 * d + (d * i + i) + (i * d + d) + 2 * d;
            // The larger of the heads: the masked-LM transform, norm and decoder bias (its weight is tied), or pre_classifier + classifier.
            var head = Math.Max(d * d + 3 * d + VocabSize, d * d + d + (long)NumLabels * (d + 1));
            return embeddings + NLayers * layer + head;
        }
    }

    protected override void ValidateShape()
    {
        Require(VocabSize > 0 && Dim > 0 && NLayers > 0 && HiddenDim > 0 && MaxPositionEmbeddings > 0,
            "vocab_size, dim, n_layers, hidden_dim and max_position_embeddings must be positive");
        Require(NHeads > 0 && Dim % NHeads == 0, "dim must be a multiple of n_heads");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id must be a token id");
        Require(Dropout is >= 0 and < 1 && AttentionDropout is >= 0 and < 1 && SeqClassifDropout is >= 0 and < 1, "dropout probabilities must be in [0, 1)");
        ModelParts.Activation(Activation);
    }
}

public sealed class DistilBertEmbeddings : nn.Module<Tensor, Tensor>
{
    readonly Embedding word_embeddings, position_embeddings;
    readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public DistilBertEmbeddings(DistilBertConfig c) : base(nameof(DistilBertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.Dim, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.Dim);
        LayerNorm = nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    public Parameter WordEmbeddings => word_embeddings.weight!;

    /// <summary>input_ids (B, T) → (B, T, dim).</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        return dropout.forward(LayerNorm.forward(word_embeddings.forward(inputIds) + position_embeddings.forward(positions))).MoveToOuterDisposeScope();
    }
}

public sealed class DistilBertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear q_lin, k_lin, v_lin, out_lin;
    readonly int heads;
    readonly double dropoutP;

    public DistilBertAttention(DistilBertConfig c) : base(nameof(DistilBertAttention))
    {
        q_lin = nn.Linear(c.Dim, c.Dim);
        k_lin = nn.Linear(c.Dim, c.Dim);
        v_lin = nn.Linear(c.Dim, c.Dim);
        out_lin = nn.Linear(c.Dim, c.Dim);
        heads = c.NHeads;
        dropoutP = c.AttentionDropout;
        RegisterComponents();
    }

    /// <summary>x (B, T, dim), mask (B, 1, 1, T) bool, true = attend → (B, T, dim).</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return out_lin.forward(ModelParts.SelfAttention(x, q_lin, k_lin, v_lin, heads, mask, training ? dropoutP : 0)).MoveToOuterDisposeScope();
    }
}

public sealed class DistilBertFfn : nn.Module<Tensor, Tensor>
{
    readonly Linear lin1, lin2;
    readonly Dropout dropout;
    readonly Func<Tensor, Tensor> act;

    public DistilBertFfn(DistilBertConfig c) : base(nameof(DistilBertFfn))
    {
        lin1 = nn.Linear(c.Dim, c.HiddenDim);
        lin2 = nn.Linear(c.HiddenDim, c.Dim);
        dropout = nn.Dropout(c.Dropout);
        act = ModelParts.Activation(c.Activation);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return dropout.forward(lin2.forward(act(lin1.forward(x)))).MoveToOuterDisposeScope();
    }
}

/// <summary>Post-norm block: sa_layer_norm(attention(x) + x), then output_layer_norm(ffn(·) + ·).</summary>
public sealed class DistilBertBlock : nn.Module<Tensor, Tensor, Tensor>
{
    readonly DistilBertAttention attention;
    readonly LayerNorm sa_layer_norm, output_layer_norm;
    readonly DistilBertFfn ffn;

    public DistilBertBlock(DistilBertConfig c) : base(nameof(DistilBertBlock))
    {
        attention = new DistilBertAttention(c);
        sa_layer_norm = nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps);
        ffn = new DistilBertFfn(c);
        output_layer_norm = nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var attended = sa_layer_norm.forward(attention.forward(x, mask) + x);
        return output_layer_norm.forward(ffn.forward(attended) + attended).MoveToOuterDisposeScope();
    }
}

public sealed class DistilBertTransformer : nn.Module
{
    readonly ModuleList<DistilBertBlock> layer;

    public DistilBertTransformer(DistilBertConfig c) : base(nameof(DistilBertTransformer))
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NLayers).Select(_ => new DistilBertBlock(c)).ToArray());
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden, Tensor mask, List<Tensor>? hiddenStates) => ModelParts.Encode(layer, hidden, mask, hiddenStates);
}

/// <summary>The DistilBERT encoder: keys <c>embeddings.*</c>, <c>transformer.layer.{i}.*</c>.</summary>
public sealed class DistilBertModel : nn.Module
{
    readonly DistilBertEmbeddings embeddings;
    readonly DistilBertTransformer transformer;

    public DistilBertModel(DistilBertConfig config, long? seed = 42) : base(nameof(DistilBertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new DistilBertEmbeddings(config);
        transformer = new DistilBertTransformer(config);
        RegisterComponents();
        ModelParts.Initialize(this, config.InitializerRange, seed);
        if (seed is null) return;
        using var noGrad = no_grad();
        embeddings.WordEmbeddings[config.PadTokenId].zero_();
    }

    public DistilBertConfig Config { get; }
    public DistilBertEmbeddings Embeddings => embeddings;

    /// <summary>input_ids, attention_mask (B, T) → last_hidden_state (B, T, dim); <paramref name="hiddenStates"/>,
    /// when given, receives the embeddings' output and each layer's.</summary>
    public Tensor forward(Tensor inputIds, Tensor attentionMask, List<Tensor>? hiddenStates = null)
    {
        ModelParts.RequireLength(inputIds.shape[1], Config.MaxPositions, "max_position_embeddings");
        using var scope = NewDisposeScope();
        var mask = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
        var embedded = embeddings.forward(inputIds);
        // The layers' outputs land in this scope: move them on to the caller's.
        var layerStates = hiddenStates is null ? null : new List<Tensor> { embedded };
        var hidden = transformer.forward(embedded, mask, layerStates);
        hiddenStates?.AddRange(layerStates!.Select(h => h.MoveToOuterDisposeScope()));
        return hidden.MoveToOuterDisposeScope();
    }
}

/// <summary><c>distilbert.*</c> + <c>pre_classifier</c> → ReLU → dropout → <c>classifier</c> over the [CLS] state.</summary>
public sealed class DistilBertForSequenceClassification : SequenceClassifierHead<DistilBertConfig>
{
    readonly DistilBertModel distilbert;
    readonly Linear pre_classifier, classifier;
    readonly Dropout dropout;

    public DistilBertForSequenceClassification(DistilBertConfig config, long? seed = 42) : base(nameof(DistilBertForSequenceClassification), config)
    {
        distilbert = new DistilBertModel(config, seed);
        pre_classifier = nn.Linear(config.Dim, config.Dim);
        classifier = nn.Linear(config.Dim, config.NumLabels);
        dropout = nn.Dropout(config.SeqClassifDropout);
        RegisterComponents();
        ModelParts.Initialize(pre_classifier, config.InitializerRange, seed);
        ModelParts.Initialize(classifier, config.InitializerRange, seed is null ? null : seed + 1);
    }

    protected override Tensor Logits(Batch batch) =>
        classifier.forward(dropout.forward(F.relu(pre_classifier.forward(distilbert.forward(batch.InputIds, batch.AttentionMask).select(1, 0))))); // (B, C)
}

/// <summary><c>distilbert.*</c> + <c>classifier.*</c>: one label per token, -100 = ignored.</summary>
public sealed class DistilBertForTokenClassification : TokenClassifierHead<DistilBertConfig>
{
    readonly DistilBertModel distilbert;

    public DistilBertForTokenClassification(DistilBertConfig config, long? seed = 42)
        : base(nameof(DistilBertForTokenClassification), config, config.Dim, config.Dropout)
    {
        distilbert = new DistilBertModel(config, seed);
        RegisterComponents();
        InitializeClassifier(seed);
    }

    protected override Tensor Hidden(Batch batch) => distilbert.forward(batch.InputIds, batch.AttentionMask);
}

/// <summary>The tied decoder's own bias: <c>vocab_projector.bias</c> (its weight is the word embeddings).</summary>
public sealed class TiedProjection : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Parameter bias;

    public TiedProjection(long vocabSize) : base(nameof(TiedProjection))
    {
        bias = nn.Parameter(zeros(vocabSize));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor weight) => F.linear(x, weight, bias);
}

/// <summary><c>distilbert.*</c> + <c>vocab_transform</c> → activation → <c>vocab_layer_norm</c> → <c>vocab_projector</c> (tied).</summary>
public sealed class DistilBertForMaskedLM : TaskHead<DistilBertConfig>
{
    readonly DistilBertModel distilbert;
    readonly Linear vocab_transform;
    readonly LayerNorm vocab_layer_norm;
    readonly TiedProjection vocab_projector;
    readonly Func<Tensor, Tensor> act;

    public DistilBertForMaskedLM(DistilBertConfig config, long? seed = 42) : base(nameof(DistilBertForMaskedLM), config)
    {
        distilbert = new DistilBertModel(config, seed);
        vocab_transform = nn.Linear(config.Dim, config.Dim);
        vocab_layer_norm = nn.LayerNorm(config.Dim, DistilBertConfig.LayerNormEps);
        vocab_projector = new TiedProjection(config.VocabSize);
        act = ModelParts.Activation(config.Activation);
        RegisterComponents();
        ModelParts.Initialize(vocab_transform, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch) =>
        vocab_projector.forward(vocab_layer_norm.forward(act(vocab_transform.forward(distilbert.forward(batch.InputIds, batch.AttentionMask)))),
            distilbert.Embeddings.WordEmbeddings); // (B, T, V)
}
