using System.Text;
using System.Text.Json.Nodes;
using FineTuneService.Training.Models;
using FineTuneService.Training.Onnx;
using Google.Protobuf;
using static TorchSharp.torch;

namespace FineTuneService.Training.Inference;

/// <summary>ONNX graphs of our loaded task models, for ONNX Runtime (serving) and for users (download).
/// A family adds its graph in its own folder (<c>Models/&lt;Family&gt;/&lt;Family&gt;Onnx.cs</c>) and names it on its catalogue
/// line (<see cref="ModelFamily"/>); a model without one is served by TorchSharp. Encoders are standard ops with ONNX Runtime's <c>BiasGelu</c>/<c>FastGelu</c>: its fused
/// <c>MultiHeadAttention</c> and <c>SkipLayerNormalization</c> measured slower on the CPU EP (README, "ONNX graphs");
/// GPT-2 keeps <c>MultiHeadAttention</c> for its past/present key-value cache.</summary>
public static class OnnxExport
{
    /// <summary>Bumped whenever a graph changes, so that graphs cached beside models are built again.</summary>
    public const string Version = "2";
    public const string VersionKey = "finetuneservice_onnx_version";
    public const string PrecisionKey = "finetuneservice_precision";
    /// <summary>The folder of a model folder that holds its graph (so the Hugging Face download leaves it out).</summary>
    public const string Folder = "onnx";
    public const string FileName = "model.onnx";
    const string StampFile = "export.json";

    /// <summary>The graph of the family that builds one for <paramref name="architecture"/> (its catalogue line says).</summary>
    static FamilyGraph? GraphFor(string? architecture) =>
        ModelCatalogue.Families.Select(f => f.Graph).FirstOrDefault(g => g is not null && g.Architectures.Contains(architecture));

    /// <summary>Whether the architecture (a config.json <c>architectures</c> name) has a graph.</summary>
    public static bool Supports(string? architecture) => GraphFor(architecture) is not null;

    /// <summary>The graph file of a model folder.</summary>
    public static string PathIn(string dir) => Path.Combine(dir, Folder, FileName);

    /// <summary>The model's graph with its weights inside (fp32, or int8 matrix products).</summary>
    public static byte[] Build(ITaskModel model, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        var family = GraphFor(model.Architecture) ?? throw new NotSupportedException($"{model.Architecture} has no ONNX graph yet");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var graph = new OnnxGraph(precision);
        family.Build(graph, model);
        var proto = graph.Model(new Dictionary<string, string>
        {
            [VersionKey] = Version,
            [PrecisionKey] = Name(precision),
            ["architecture"] = model.Architecture,
        });
        return proto.ToByteArray();
    }

    /// <summary>Writes the graph to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public static void Save(ITaskModel model, string path, OnnxPrecision precision = OnnxPrecision.Fp32)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteAtomically(path, Build(model, precision));
    }

    /// <summary>The graph of a model folder at <paramref name="precision"/>, built from its weights when missing or made by
    /// another exporter version or precision (a stamp beside it says which); null when its architecture has no graph.</summary>
    public static string? Cached(string dir, OnnxPrecision precision)
    {
        var config = ModelConfig.Load(Path.Combine(dir, ModelFolder.ConfigFile));
        if (!Supports(config.Architectures?.FirstOrDefault()))
        {
            return null;
        }
        var path = PathIn(dir);
        var stamp = Path.Combine(dir, Folder, StampFile);
        var expected = new JsonObject { ["version"] = Version, ["precision"] = Name(precision) }.ToJsonString();
        if (File.Exists(path) && File.Exists(stamp) && File.ReadAllText(stamp) == expected)
        {
            return path;
        }
        var model = ModelFolder.Load(dir);
        try
        {
            Save(model, path, precision);
        }
        finally
        {
            model.Module.Dispose();
        }
        WriteAtomically(stamp, Encoding.UTF8.GetBytes(expected));
        return path;
    }

    public static string Name(OnnxPrecision precision) => precision.ToString().ToLowerInvariant();

    static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
