using static TorchSharp.torch;

namespace FineTuneService.Training.Checkpoints;

/// <summary>One tensor of a safetensors file: its data lies at <paramref name="Offset"/> in <paramref name="File"/>.</summary>
public sealed record StoredTensor(string Name, ScalarType DType, long[] Shape, string File, long Offset);
