using FineTuneService.Training.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuneService.Training.Models;

/// <summary>Pieces shared by the model families: activations and Hugging Face weight initialisation.</summary>
static class ModelParts
{
    public static Func<Tensor, Tensor> Activation(string name) => name switch
    {
        "gelu" => x => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => x => nn.functional.gelu(x, GELU.Approximate.tanh),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        _ => throw new InvalidCheckpointException($"config.json: activation '{name}' is not supported (gelu, gelu_new, relu, silu)"),
    };

    /// <summary>Hugging Face <c>_init_weights</c>: Linear/Conv1D/Embedding weights ~ N(0, std), biases 0,
    /// the padding row 0, LayerNorm 1/0; seeded so the same seed builds the same model. A null seed leaves the
    /// weights as constructed: a model about to be loaded from a checkpoint, which <paramref name="except"/> names —
    /// then only the modules whose weights the checkpoint did not fill (a new head, a missing pooler) are drawn.</summary>
    public static void Initialize(nn.Module module, double std, long? seed, IReadOnlySet<string>? except = null)
    {
        if (seed is null) return;
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed.Value);
        foreach (var (name, m) in module.named_modules().Prepend(("", module))) // named_modules() leaves out the module itself
        {
            if (except?.Contains(name.Length == 0 ? "weight" : name + ".weight") == true) continue;
            switch (m)
            {
                case Linear linear:
                    Normal(linear.weight!, std, generator);
                    linear.bias?.zero_();
                    break;
                case Conv1D conv:
                    Normal(conv.weight, std, generator);
                    conv.bias.zero_();
                    break;
                case Embedding embedding:
                    Normal(embedding.weight!, std, generator);
                    break;
                case LayerNorm norm:
                    norm.weight!.fill_(1.0);
                    norm.bias!.zero_();
                    break;
            }
        }
    }

    /// <summary>Fills with N(0, std²) drawn from <paramref name="generator"/> (nn.init.normal_ ignores its generator here).</summary>
    public static void Normal(Tensor weight, double std, Generator generator)
    {
        using var noGrad = no_grad();
        using var sample = randn(weight.shape, generator: generator);
        weight.copy_(sample.mul_(std));
    }

    /// <summary>The loss of a sequence classifier as Hugging Face picks it: <c>problem_type</c>, else one label means
    /// regression (MSE), integer labels single-label cross-entropy (with optional class weights), float labels multi-label BCE.</summary>
    public static Tensor SequenceClassificationLoss(ModelConfig config, Tensor logits, Tensor labels, float[]? classWeights)
    {
        logits = logits.to(ScalarType.Float32); // bf16 training computes the loss in float32, as autocast does
        var problem = config.ProblemType
            ?? (config.NumLabels == 1 ? ModelConfig.Regression
                : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? ModelConfig.SingleLabel : ModelConfig.MultiLabel);
        return problem switch
        {
            ModelConfig.Regression => nn.functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype).reshape(logits.shape[0])),
            ModelConfig.MultiLabel => nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)),
            _ => CrossEntropy(logits, labels, classWeights is { } w ? tensor(w, device: logits.device) : null),
        };
    }

    /// <summary>Throws when an input is longer than the positions the model embeds (the callers size inputs first).</summary>
    public static void RequireLength(long tokens, int maxPositions, string configKey)
    {
        if (tokens > maxPositions)
        {
            throw new ArgumentException($"{tokens} tokens exceed {configKey} ({maxPositions})", "inputIds");
        }
    }

    /// <summary>Multi-head attention of x (B, T, H) through its query, key and value projections, mask (B, 1, 1, T)
    /// bool, true = attend → the heads' context (B, T, H), before any output projection.</summary>
    public static Tensor SelfAttention(Tensor x, Linear query, Linear key, Linear value, int heads, Tensor mask, double dropoutP)
    {
        long b = x.shape[0], t = x.shape[1], h = x.shape[2];
        Tensor Split(Linear proj) => proj.forward(x).view(b, t, heads, h / heads).transpose(1, 2); // (B, heads, T, head_dim)
        var context = nn.functional.scaled_dot_product_attention(Split(query), Split(key), Split(value), mask, dropoutP);
        return context.transpose(1, 2).reshape(b, t, h);
    }

    /// <summary>Runs post-norm encoder layers; <paramref name="hiddenStates"/>, when given, receives each layer's output.</summary>
    public static Tensor Encode<TLayer>(IEnumerable<TLayer> layers, Tensor hidden, Tensor mask, List<Tensor>? hiddenStates)
        where TLayer : nn.Module<Tensor, Tensor, Tensor>
    {
        using var scope = NewDisposeScope();
        foreach (var layer in layers)
        {
            hidden = layer.forward(hidden, mask);
            hiddenStates?.Add(hidden.MoveToOuterDisposeScope());
        }
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Runs <paramref name="count"/> pre-norm decoder layers (<paramref name="layer"/>: index, input → output), then
    /// <paramref name="finalNorm"/>. <paramref name="hiddenStates"/>, when given, receives what Hugging Face reports: the
    /// embeddings' output, each layer's but the last, and the normed result. Tensors move to the caller's outer scope.</summary>
    public static Tensor Decode(Tensor embedded, int count, Func<int, Tensor, Tensor> layer, Func<Tensor, Tensor> finalNorm, List<Tensor>? hiddenStates)
    {
        var x = embedded;
        hiddenStates?.Add(x.MoveToOuterDisposeScope());
        for (int i = 0; i < count; i++)
        {
            x = layer(i, x);
            if (i < count - 1) hiddenStates?.Add(x.MoveToOuterDisposeScope());
        }
        var result = finalNorm(x);
        hiddenStates?.Add(result.MoveToOuterDisposeScope());
        return result;
    }

    /// <summary>Causal-LM loss: logits at t predict labels at t + 1 (-100 = ignore).</summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor labels)
    {
        var t = logits.shape[1];
        return CrossEntropy(logits.narrow(1, 0, t - 1), labels.narrow(1, 1, t - 1));
    }

    /// <summary>Each row's values (B, T, C) at its last position whose attention_mask is 1 → (B, C): a decoder's
    /// summary of the sequence, right- or left-padded.</summary>
    public static Tensor LastRealToken(Tensor values, Tensor attentionMask)
    {
        var t = attentionMask.shape[1];
        var last = (arange(t, dtype: ScalarType.Int64, device: attentionMask.device) * attentionMask.to(ScalarType.Int64)).argmax(-1);
        return values[arange(values.shape[0], dtype: ScalarType.Int64, device: values.device), last];
    }

    /// <summary>Cross-entropy over the last dimension, ignoring label -100 (padding, unmasked or non-first sub-tokens);
    /// in float32, also when the model computes in bf16 (as autocast runs the loss).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Tensor? weight = null) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), labels.reshape(-1), weight, ignore_index: -100);
}
