namespace FineTuneService.Training.Inference;

/// <summary>What runs a loaded model's forward pass: <c>onnxruntime</c> (the default: ONNX Runtime on the graph we
/// build from the model's weights) or <c>torch</c> (TorchSharp, the reference, and the fallback for a family without
/// a graph).</summary>
public enum InferenceEngine
{
    OnnxRuntime,
    Torch,
}
