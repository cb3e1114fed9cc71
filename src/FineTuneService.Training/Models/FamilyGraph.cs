using FineTuneService.Training.Onnx;

namespace FineTuneService.Training.Models;

/// <summary>A family's ONNX graph (its <c>&lt;Family&gt;Onnx.cs</c> beside the family's modules): the task models it
/// builds a graph for, by architecture name, and how. A head it does not list is served by TorchSharp.</summary>
sealed record FamilyGraph(IReadOnlyList<string> Architectures, Action<OnnxGraph, ITaskModel> Build);
