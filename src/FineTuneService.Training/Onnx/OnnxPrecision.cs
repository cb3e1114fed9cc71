namespace FineTuneService.Training.Onnx;

/// <summary>Weights of the matrix products: fp32, or int8 with one symmetric scale per output column
/// (<c>com.microsoft.DynamicQuantizeMatMul</c>: activations are quantized per call, weights once here).</summary>
public enum OnnxPrecision
{
    Fp32,
    Int8,
}
