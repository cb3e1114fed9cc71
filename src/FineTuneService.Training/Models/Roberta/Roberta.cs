using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTuneService.Training.Models;

// RoBERTa and XLM-RoBERTa (modeling_roberta.py, modeling_xlm_roberta.py): BERT's encoder under `roberta.*`, positions
// counted from padding_idx + 1, one token type, and their own classification and LM heads. XLM-R differs only in names.

/// <summary>Hugging Face <c>RobertaConfig</c>: BERT's fields with RoBERTa's padding and vocabulary.</summary>
public record RobertaConfig : BertConfig
{
    public static new readonly ModelFamily Family = Heads("roberta", typeof(RobertaConfig), "Roberta");

    /// <summary>The family's heads under the class-name stem <paramref name="stem"/> (<c>Roberta</c>, <c>XLMRoberta</c>).</summary>
    internal static ModelFamily Heads(string modelType, Type configType, string stem) => new(modelType, configType, "roberta.", stem + "Model",
    [
        ModelFamily.Head<RobertaConfig>(stem + "ForSequenceClassification", ModelTask.SequenceClassification, (c, seed) => new RobertaForSequenceClassification(c, seed, stem)),
        ModelFamily.Head<RobertaConfig>(stem + "ForTokenClassification", ModelTask.TokenClassification, (c, seed) => new RobertaForTokenClassification(c, seed, stem)),
        ModelFamily.Head<RobertaConfig>(stem + "ForMaskedLM", ModelTask.MaskedLM, (c, seed) => new RobertaForMaskedLM(c, seed, stem)),
    ], stem == "Roberta" ? "byte-level BPE" : "SentencePiece Unigram")
    { Graph = new(RobertaOnnx.Architectures, RobertaOnnx.Build) };

    public RobertaConfig()
    {
        VocabSize = 50265;
        PadTokenId = 1;
    }

    [JsonPropertyName("model_type")] public override string ModelType => "roberta";
    [JsonIgnore] public override int? PositionPaddingIdx => PadTokenId;
}

/// <summary>Hugging Face <c>XLMRobertaConfig</c>: RoBERTa's, under another name.</summary>
public sealed record XlmRobertaConfig : RobertaConfig
{
    public static new readonly ModelFamily Family = Heads("xlm-roberta", typeof(XlmRobertaConfig), "XLMRoberta");

    public XlmRobertaConfig() => VocabSize = 30522;

    [JsonPropertyName("model_type")] public override string ModelType => "xlm-roberta";
}

/// <summary><c>classifier.dense</c> → tanh → <c>classifier.out_proj</c> over the &lt;s&gt; token's state, with dropout before each.</summary>
public sealed class RobertaClassificationHead : nn.Module<Tensor, Tensor>
{
    readonly Linear dense, out_proj;
    readonly Dropout dropout;

    public RobertaClassificationHead(BertConfig c) : base(nameof(RobertaClassificationHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        dropout = nn.Dropout(c.ClassifierDropout ?? c.HiddenDropoutProb);
        out_proj = nn.Linear(c.HiddenSize, c.NumLabels);
        RegisterComponents();
    }

    /// <summary>(B, T, H) → (B, C).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var x = dense.forward(dropout.forward(hidden.select(1, 0))).tanh();
        return out_proj.forward(dropout.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>lm_head.dense</c> → GELU → <c>lm_head.layer_norm</c> → the word embeddings (tied decoder) + <c>lm_head.bias</c>.</summary>
public sealed class RobertaLMHead : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm layer_norm;
    readonly Parameter bias;

    public RobertaLMHead(BertConfig c) : base(nameof(RobertaLMHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        layer_norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        bias = nn.Parameter(zeros(c.VocabSize));
        RegisterComponents();
    }

    /// <summary>hidden (B, T, H), word embeddings (V, H) → logits (B, T, V).</summary>
    public override Tensor forward(Tensor hidden, Tensor wordEmbeddings)
    {
        using var scope = NewDisposeScope();
        return F.linear(layer_norm.forward(F.gelu(dense.forward(hidden))), wordEmbeddings, bias).MoveToOuterDisposeScope();
    }
}

/// <summary><c>roberta.*</c> (no pooler) + <c>classifier.{dense,out_proj}</c>.</summary>
public sealed class RobertaForSequenceClassification : SequenceClassifierHead<RobertaConfig>
{
    readonly BertModel roberta;
    readonly RobertaClassificationHead classifier;

    public RobertaForSequenceClassification(RobertaConfig config, long? seed = 42, string stem = "Roberta") : base(stem + "ForSequenceClassification", config)
    {
        roberta = new BertModel(config, addPoolingLayer: false, seed);
        classifier = new RobertaClassificationHead(config);
        RegisterComponents();
        ModelParts.Initialize(classifier, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch) => classifier.forward(roberta.forward(batch.InputIds, batch.AttentionMask).LastHiddenState); // (B, C)
}

/// <summary><c>roberta.*</c> (no pooler) + <c>classifier.*</c>: one label per token, -100 = ignored.</summary>
public sealed class RobertaForTokenClassification : TokenClassifierHead<RobertaConfig>
{
    readonly BertModel roberta;

    public RobertaForTokenClassification(RobertaConfig config, long? seed = 42, string stem = "Roberta")
        : base(stem + "ForTokenClassification", config, config.HiddenSize, config.ClassifierDropout ?? config.HiddenDropoutProb)
    {
        roberta = new BertModel(config, addPoolingLayer: false, seed);
        RegisterComponents();
        InitializeClassifier(seed);
    }

    protected override Tensor Hidden(Batch batch) => roberta.forward(batch.InputIds, batch.AttentionMask).LastHiddenState;
}

/// <summary><c>roberta.*</c> (no pooler) + <c>lm_head.*</c>: masked-LM; labels -100 except at masked positions.</summary>
public sealed class RobertaForMaskedLM : TaskHead<RobertaConfig>
{
    readonly BertModel roberta;
    readonly RobertaLMHead lm_head;

    public RobertaForMaskedLM(RobertaConfig config, long? seed = 42, string stem = "Roberta") : base(stem + "ForMaskedLM", config)
    {
        roberta = new BertModel(config, addPoolingLayer: false, seed);
        lm_head = new RobertaLMHead(config);
        RegisterComponents();
        ModelParts.Initialize(lm_head, config.InitializerRange, seed);
    }

    protected override Tensor Logits(Batch batch) =>
        lm_head.forward(roberta.forward(batch.InputIds, batch.AttentionMask).LastHiddenState, roberta.Embeddings.WordEmbeddings); // (B, T, V)
}
