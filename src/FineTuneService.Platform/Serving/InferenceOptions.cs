using System.ComponentModel.DataAnnotations;
using FineTuneService.Training.Inference;

namespace FineTuneService.Platform.Serving;

/// <summary>Configuration section <c>Inference</c>: the model cache, the dynamic batcher and request limits.</summary>
public sealed class InferenceOptions
{
    /// <summary><c>auto</c> (CUDA when available), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    [Required] public string Device { get; set; } = "auto";

    /// <summary><c>onnxruntime</c>: ONNX Runtime on the graph built from the model's weights (cached beside it); a family
    /// without a graph runs on torch. <c>torch</c>: TorchSharp, the reference.</summary>
    [Required, RegularExpression("^(onnxruntime|torch)$", ErrorMessage = "Inference:Engine must be onnxruntime or torch")]
    public string Engine { get; set; } = "onnxruntime";

    public InferenceEngine EngineKind => Engine == "torch" ? InferenceEngine.Torch : InferenceEngine.OnnxRuntime;

    /// <summary>Loaded models kept in memory; the least recently used one is unloaded past this.</summary>
    [Range(1, 64)] public int MaxLoadedModels { get; set; } = 2;

    /// <summary>Tokens merged into one batch, and padded tokens per forward.</summary>
    [Range(64, 1 << 20)] public int MaxBatchTokens { get; set; } = 16384;

    /// <summary>Under load, how long the batcher waits for the rest of the previous batch's crowd (milliseconds).
    /// An idle batcher never waits.</summary>
    [Range(0, 1000)] public double BatchWindowMs { get; set; } = 3;

    [Range(1, 10000)] public int MaxInputsPerRequest { get; set; } = 64;

    [Range(1, 4096)] public int MaxNewTokens { get; set; } = 512;

    /// <summary>Characters of all inputs of one predict or tokenize request (texts and pairs).</summary>
    [Range(1, 1 << 28)] public int MaxCharactersPerRequest { get; set; } = 100_000;

    /// <summary>Tokens of all inputs of one request, after tokenizing (and truncating to the model's positions).</summary>
    [Range(1, 1 << 24)] public int MaxTokensPerRequest { get; set; } = 16_384;

    /// <summary>[MASK] tokens in one input of a masked LM.</summary>
    [Range(1, 100_000)] public int MaxMasksPerInput { get; set; } = 20;

    /// <summary>The largest <c>top_k</c>: candidates per [MASK], or the sampling filter of a causal LM.</summary>
    [Range(1, 1_000_000)] public int MaxTopK { get; set; } = 100;

    /// <summary>Candidates one masked-LM request answers: its [MASK]s × top_k.</summary>
    [Range(1, 1 << 24)] public int MaxMaskCandidatesPerRequest { get; set; } = 1_000;

    /// <summary>Requests waiting for one model's batches; past it a request is answered 429 with Retry-After.</summary>
    [Range(1, 100_000)] public int MaxQueuedRequestsPerModel { get; set; } = 64;

    /// <summary>Predict and tokenize requests per second for one client (its API key; in open mode its address)…</summary>
    [Range(0.001, 1_000_000)] public double RequestsPerSecondPerClient { get; set; } = 50;

    /// <summary>… and the burst it may send at once.</summary>
    [Range(1, 1_000_000)] public int BurstPerClient { get; set; } = 100;
}
