using System.ComponentModel.DataAnnotations;
using FineTuneService.Training.Inference;

namespace FineTuneService.Platform.Inference;

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
}
