using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// The whole BERT forward pass. Module fields carry Hugging Face's names (modeling_bert.py), so
// state_dict() keys are exactly the keys of a Hugging Face checkpoint.

/// <summary>Hugging Face <c>BertConfig</c>; defaults are bert-base-uncased's. RoBERTa's config is BERT's with other
/// defaults and positions that start after the padding index.</summary>
public record BertConfig : ModelConfig
{
    public static readonly ModelFamily Family = new("bert", typeof(BertConfig), "bert.", "BertModel",
    [
        ModelFamily.Head<BertConfig>(nameof(BertForSequenceClassification), ModelTask.SequenceClassification, (c, seed) => new BertForSequenceClassification(c, seed)),
        ModelFamily.Head<BertConfig>(nameof(BertForTokenClassification), ModelTask.TokenClassification, (c, seed) => new BertForTokenClassification(c, seed)),
        ModelFamily.Head<BertConfig>(nameof(BertForMaskedLM), ModelTask.MaskedLM, (c, seed) => new BertForMaskedLM(c, seed)),
        ModelFamily.Head<BertConfig>(nameof(BertForPreTraining), ModelTask.PreTraining, (c, seed) => new BertForPreTraining(c, seed)),
    ], "WordPiece")
    { Graph = new(BertOnnx.Architectures, BertOnnx.Build) };

    public BertConfig() => VocabSize = 30522;

    [JsonPropertyName("model_type")] public override string ModelType => "bert";
    [JsonIgnore] public override int NumLayers => NumHiddenLayers;
    [JsonIgnore] public override int MaxPositions => MaxPositionEmbeddings - (PositionPaddingIdx is { } pad ? pad + 1 : 0);
    /// <summary>RoBERTa numbers positions from padding_idx + 1 and gives padding the padding index; BERT from 0.</summary>
    [JsonIgnore] public virtual int? PositionPaddingIdx => null;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; init; } = "absolute";
    /// <summary>Dropout before the classifier; null means <see cref="HiddenDropoutProb"/>.</summary>
    [JsonPropertyName("classifier_dropout")] public double? ClassifierDropout { get; init; }

    public static new BertConfig Load(string path) => ModelConfig.Load(path) as BertConfig
        ?? throw new Checkpoints.InvalidCheckpointException($"'{Path.GetFileName(path)}' is not a BERT config");

    public override ModelConfig SizedFor(int vocabSize, int padId, int eosId) => this with { VocabSize = vocabSize, PadTokenId = padId };

    protected override void ValidateShape()
    {
        Require(VocabSize > 0 && HiddenSize > 0 && NumHiddenLayers > 0 && IntermediateSize > 0 && MaxPositionEmbeddings > 0 && TypeVocabSize > 0,
            "vocab_size, hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings and type_vocab_size must be positive");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, "hidden_size must be a multiple of num_attention_heads");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id must be a token id");
        Require(MaxPositions > 0, "max_position_embeddings must leave room for positions after pad_token_id + 1");
        Require(PositionEmbeddingType == "absolute", $"position_embedding_type '{PositionEmbeddingType}' is not supported (absolute)");
        Require(HiddenDropoutProb is >= 0 and < 1 && AttentionProbsDropoutProb is >= 0 and < 1, "dropout probabilities must be in [0, 1)");
        ModelParts.Activation(HiddenAct);
    }

    public override IEnumerable<ShapeDimension> Dimensions() =>
    [
        new("num_hidden_layers", NumHiddenLayers, ShapeLimit.Layers), new("hidden_size", HiddenSize, ShapeLimit.Width),
        new("intermediate_size", IntermediateSize, ShapeLimit.Width), new("num_attention_heads", NumAttentionHeads, ShapeLimit.Heads),
        new("vocab_size", VocabSize, ShapeLimit.Vocabulary), new("type_vocab_size", TypeVocabSize, ShapeLimit.Vocabulary),
        new("max_position_embeddings", MaxPositionEmbeddings, ShapeLimit.Positions), new("id2label", NumLabels, ShapeLimit.Labels),
    ];

    public override long ParameterCount()
    {
        checked
        {
            long h = HiddenSize, i = IntermediateSize;
            var embeddings = ((long)VocabSize + MaxPositionEmbeddings + TypeVocabSize) * h + 2 * h;
            var layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
            var pooler = h * h + h;
            // The larger of the heads: the masked-LM transform + decoder bias (its weight is tied) + NSP, or a classifier.
            var head = Math.Max(h * h + 3 * h + VocabSize + 2 * h + 2, (long)NumLabels * (h + 1));
            return embeddings + NumHiddenLayers * layer + pooler + head;
        }
    }
}

public sealed class BertEmbeddings : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    readonly LayerNorm LayerNorm;
    readonly Dropout dropout;
    readonly int? positionPaddingIdx;

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        positionPaddingIdx = c.PositionPaddingIdx;
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = positionPaddingIdx is { } pad
            ? nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize, padding_idx: pad)
            : nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Parameter WordEmbeddings => word_embeddings.weight!;

    /// <summary>Hugging Face's init leaves every padding row zero.</summary>
    public void ZeroPaddingRows(int padTokenId)
    {
        using var noGrad = no_grad();
        word_embeddings.weight![padTokenId].zero_();
        if (positionPaddingIdx is { } pad) position_embeddings.weight![pad].zero_();
    }

    /// <summary>input_ids, token_type_ids (B, T) → (B, T, H).</summary>
    public override Tensor forward(Tensor inputIds, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = positionPaddingIdx is { } pad
            ? PaddingOffsetPositions(inputIds, pad)
            : arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var x = word_embeddings.forward(inputIds) + token_type_embeddings.forward(tokenTypeIds) + position_embeddings.forward(positions);
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>RoBERTa's create_position_ids_from_input_ids: real tokens count up from pad + 1, padding stays at pad.</summary>
    static Tensor PaddingOffsetPositions(Tensor inputIds, int pad)
    {
        var real = inputIds.ne(pad).to(ScalarType.Int64);
        return real.cumsum(1) * real + pad;
    }
}

public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear query, key, value;
    readonly int heads;
    readonly double dropoutP;

    public BertSelfAttention(BertConfig c) : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        heads = c.NumAttentionHeads;
        dropoutP = c.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <summary>hidden (B, T, H), mask (B, 1, 1, T) bool, true = attend → context (B, T, H).</summary>
    public override Tensor forward(Tensor hidden, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return ModelParts.SelfAttention(hidden, query, key, value, heads, mask, training ? dropoutP : 0).MoveToOuterDisposeScope();
    }
}

/// <summary>dense → dropout → LayerNorm(x + residual): BertSelfOutput and BertOutput.</summary>
public sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public BertResidualOutput(BertConfig c, int inFeatures) : base(nameof(BertResidualOutput))
    {
        dense = nn.Linear(inFeatures, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.forward(dense.forward(x)) + residual).MoveToOuterDisposeScope();
    }
}

public sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertSelfAttention self;
    readonly BertResidualOutput output;

    public BertAttention(BertConfig c) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(c);
        output = new BertResidualOutput(c, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return output.forward(self.forward(hidden, mask), hidden).MoveToOuterDisposeScope();
    }
}

public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    readonly Linear dense;
    readonly Func<Tensor, Tensor> act;

    public BertIntermediate(BertConfig c) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
        act = ModelParts.Activation(c.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return act(dense.forward(x)).MoveToOuterDisposeScope();
    }
}

public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertAttention attention;
    readonly BertIntermediate intermediate;
    readonly BertResidualOutput output;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c);
        intermediate = new BertIntermediate(c);
        output = new BertResidualOutput(c, c.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var attended = attention.forward(hidden, mask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }
}

public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor mask) => forward(hidden, mask, null);

    /// <summary>Runs the layers; <paramref name="hiddenStates"/>, when given, receives each layer's output.</summary>
    public Tensor forward(Tensor hidden, Tensor mask, List<Tensor>? hiddenStates) => ModelParts.Encode(layer, hidden, mask, hiddenStates);
}

public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    readonly Linear dense;

    public BertPooler(BertConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    /// <summary>tanh(dense(hidden[:, 0])): (B, T, H) → (B, H).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return dense.forward(hidden.select(1, 0)).tanh().MoveToOuterDisposeScope();
    }
}

/// <summary>The BERT encoder: keys <c>embeddings.*</c>, <c>encoder.layer.{i}.*</c>, <c>pooler.*</c> (when it has one).</summary>
public sealed class BertModel : nn.Module
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;
    readonly BertPooler? pooler;

    /// <summary>A null <paramref name="seed"/> leaves the weights uninitialised, for a checkpoint to fill.</summary>
    public BertModel(BertConfig config, bool addPoolingLayer = true, long? seed = 42) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
        ModelParts.Initialize(this, config.InitializerRange, seed);
        if (seed is not null) embeddings.ZeroPaddingRows(config.PadTokenId);
    }

    public BertConfig Config { get; }
    public BertEmbeddings Embeddings => embeddings;
    public BertEncoder Encoder => encoder;

    /// <summary>input_ids, attention_mask (B, T), token_type_ids (B, T) or null for zeros (always zeros when the
    /// config has one token type, as RoBERTa's) → last_hidden_state (B, T, H) and pooler_output (B, H) when the model
    /// has a pooler. <paramref name="hiddenStates"/>, when given, receives the embeddings' output and each layer's.</summary>
    public (Tensor LastHiddenState, Tensor? PoolerOutput) forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null,
        List<Tensor>? hiddenStates = null)
    {
        ModelParts.RequireLength(inputIds.shape[1], Config.MaxPositions, "max_position_embeddings");
        using var scope = NewDisposeScope();
        var mask = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
        var types = Config.TypeVocabSize > 1 && tokenTypeIds is not null ? tokenTypeIds : zeros_like(inputIds);
        var embedded = embeddings.forward(inputIds, types);
        // The encoder's layer outputs land in this scope: move them on to the caller's.
        var layerStates = hiddenStates is null ? null : new List<Tensor> { embedded };
        var hidden = encoder.forward(embedded, mask, layerStates);
        hiddenStates?.AddRange(layerStates!.Select(h => h.MoveToOuterDisposeScope()));
        var pooled = pooler?.forward(hidden);
        return (hidden.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope());
    }
}

/// <summary>BERT's masked-LM head: transform (dense → act → LayerNorm), then a decoder whose weight is the
/// word-embedding matrix (tied, as in Hugging Face, so it is not a key of its own) plus <c>bias</c>.</summary>
public sealed class BertLMPredictionHead : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertPredictionHeadTransform transform;
    readonly Parameter bias;

    public BertLMPredictionHead(BertConfig c) : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(c);
        bias = nn.Parameter(zeros(c.VocabSize));
        RegisterComponents();
    }

    /// <summary>hidden (B, T, H), word embeddings (V, H) → logits (B, T, V).</summary>
    public override Tensor forward(Tensor hidden, Tensor wordEmbeddings)
    {
        using var scope = NewDisposeScope();
        return F.linear(transform.forward(hidden), wordEmbeddings, bias).MoveToOuterDisposeScope();
    }
}

public sealed class BertPredictionHeadTransform : nn.Module<Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm LayerNorm;
    readonly Func<Tensor, Tensor> act;

    public BertPredictionHeadTransform(BertConfig c) : base(nameof(BertPredictionHeadTransform))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        act = ModelParts.Activation(c.HiddenAct);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(act(dense.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary><c>cls.predictions</c> (+ <c>cls.seq_relationship</c> for pretraining).</summary>
public sealed class BertPreTrainingHeads : nn.Module
{
    readonly BertLMPredictionHead predictions;
    readonly Linear? seq_relationship;

    public BertPreTrainingHeads(BertConfig c, bool nextSentence) : base(nameof(BertPreTrainingHeads))
    {
        predictions = new BertLMPredictionHead(c);
        seq_relationship = nextSentence ? nn.Linear(c.HiddenSize, 2) : null;
        RegisterComponents();
    }

    public Tensor Predictions(Tensor hidden, Tensor wordEmbeddings) => predictions.forward(hidden, wordEmbeddings);
    public Tensor SeqRelationship(Tensor pooled) => seq_relationship!.forward(pooled);
}

// ---- task models ----

/// <summary><c>bert.*</c> + <c>classifier.*</c>: classification over the pooled [CLS] state.</summary>
public sealed class BertForSequenceClassification : SequenceClassifierHead<BertConfig>
{
    readonly BertModel bert;
    readonly Dropout dropout;
    readonly Linear classifier;

    public BertForSequenceClassification(BertConfig config, long? seed = 42) : base(nameof(BertForSequenceClassification), config)
    {
        bert = new BertModel(config, addPoolingLayer: true, seed);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        ModelParts.Initialize(classifier, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch) =>
        classifier.forward(dropout.forward(bert.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).PoolerOutput!)); // (B, C)
}

/// <summary><c>bert.*</c> (no pooler) + <c>classifier.*</c>: one label per token, -100 = ignored.</summary>
public sealed class BertForTokenClassification : TokenClassifierHead<BertConfig>
{
    readonly BertModel bert;

    public BertForTokenClassification(BertConfig config, long? seed = 42)
        : base(nameof(BertForTokenClassification), config, config.HiddenSize, config.ClassifierDropout ?? config.HiddenDropoutProb)
    {
        bert = new BertModel(config, addPoolingLayer: false, seed);
        RegisterComponents();
        InitializeClassifier(seed);
    }

    protected override Tensor Hidden(Batch batch) => bert.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).LastHiddenState;
}

/// <summary><c>bert.*</c> (no pooler) + <c>cls.predictions.*</c>: masked-LM; labels -100 except at masked positions.</summary>
public sealed class BertForMaskedLM : TaskHead<BertConfig>
{
    readonly BertModel bert;
    readonly BertPreTrainingHeads cls;

    public BertForMaskedLM(BertConfig config, long? seed = 42) : base(nameof(BertForMaskedLM), config)
    {
        bert = new BertModel(config, addPoolingLayer: false, seed);
        cls = new BertPreTrainingHeads(config, nextSentence: false);
        RegisterComponents();
        ModelParts.Initialize(cls, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch) =>
        cls.Predictions(bert.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).LastHiddenState, bert.Embeddings.WordEmbeddings); // (B, T, V)
}

/// <summary><c>bert.*</c> + <c>cls.predictions.*</c> + <c>cls.seq_relationship.*</c>: masked-LM and next-sentence
/// prediction; the loss is the sum of the two when both label sets are given.</summary>
public sealed class BertForPreTraining : TaskHead<BertConfig>
{
    readonly BertModel bert;
    readonly BertPreTrainingHeads cls;

    public BertForPreTraining(BertConfig config, long? seed = 42) : base(nameof(BertForPreTraining), config)
    {
        bert = new BertModel(config, addPoolingLayer: true, seed);
        cls = new BertPreTrainingHeads(config, nextSentence: true);
        RegisterComponents();
        ModelParts.Initialize(cls, config.InitializerRange, seed);
    }

    /// <summary>The masked-LM logits alone; <see cref="Forward"/> adds the next-sentence logits from the same pass.</summary>
    protected override Tensor Logits(Batch batch) => Heads(batch).Logits;

    public override ModelOutput Forward(Batch batch)
    {
        using var scope = NewDisposeScope();
        var (logits, nspLogits) = Heads(batch);
        var mlmLoss = batch.Labels is { } labels ? Loss(logits, labels) : null;
        var nspLoss = batch.NextSentenceLabels is { } nsp ? Loss(nspLogits, nsp) : null;
        var loss = mlmLoss is null ? nspLoss : nspLoss is null ? mlmLoss : mlmLoss + nspLoss;
        return new ModelOutput(loss?.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope(), nspLogits.MoveToOuterDisposeScope());
    }

    /// <summary>(B, T, V) masked-LM and (B, 2) next-sentence logits.</summary>
    (Tensor Logits, Tensor NspLogits) Heads(Batch batch)
    {
        var (hidden, pooled) = bert.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds);
        return (cls.Predictions(hidden, bert.Embeddings.WordEmbeddings), cls.SeqRelationship(pooled!));
    }
}
