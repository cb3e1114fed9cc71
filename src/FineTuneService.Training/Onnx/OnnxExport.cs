using FineTuneService.Training.Models;
using Google.Protobuf;
using static TorchSharp.torch;

namespace FineTuneService.Training.Onnx;

/// <summary>ONNX graphs of our loaded task models, for ONNX Runtime (serving) and for users (download).
/// A family adds its graph in its own file and one line in <see cref="Families"/>; a model without one is served by
/// TorchSharp. The graphs emit ONNX Runtime's fused CPU operators directly (MultiHeadAttention,
/// SkipLayerNormalization, BiasGelu/FastGelu): measured against the same graph in standard ops under
/// <c>ORT_ENABLE_ALL</c> (README, "ONNX graphs").</summary>
public static class OnnxExport
{
    /// <summary>Bumped whenever a graph changes, so that graphs cached beside models are built again.</summary>
    public const string Version = "1";
    public const string VersionKey = "finetuneservice_onnx_version";
    public const string PrecisionKey = "finetuneservice_precision";
    public const string FileName = "model.onnx";
    public const string Int8FileName = "model_int8.onnx";

    static readonly (Func<ITaskModel, bool> Supports, Action<OnnxGraph, ITaskModel> Build)[] Families =
    [
        (BertOnnx.Supports, BertOnnx.Build),
        (Gpt2Onnx.Supports, Gpt2Onnx.Build),
    ];

    public static bool Supports(ITaskModel model) => Families.Any(f => f.Supports(model));

    /// <summary>The model's graph with its weights inside (fp32, or int8 matrix products).</summary>
    public static byte[] Build(ITaskModel model, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        var family = Families.FirstOrDefault(f => f.Supports(model));
        if (family.Build is null)
        {
            throw new NotSupportedException($"{model.Architecture} has no ONNX graph yet");
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var graph = new OnnxGraph(precision);
        family.Build(graph, model);
        var proto = graph.Model(new Dictionary<string, string>
        {
            [VersionKey] = Version,
            [PrecisionKey] = precision.ToString().ToLowerInvariant(),
            ["architecture"] = model.Architecture,
        });
        return proto.ToByteArray();
    }

    /// <summary>Writes the graph to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public static void Save(ITaskModel model, string path, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, Build(model, precision));
        File.Move(temp, path, overwrite: true);
    }
}
