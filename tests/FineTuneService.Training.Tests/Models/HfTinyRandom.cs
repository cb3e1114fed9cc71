using System.Text.Json;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuneService.Training.Tests.Models;

/// <summary>Reading the committed <c>tests/fixtures/hf-tiny-random</c> checkpoints and what Hugging Face transformers
/// computed for them (<c>reference.json</c>).</summary>
public static class HfTinyRandom
{
    public static string Dir(string arch) => Fixtures.TinyRandom(arch);

    public static JsonElement Reference(string arch, string file = "reference.json") =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(arch), file))).RootElement;

    /// <summary>A nested JSON array as a tensor of its shape (float32, or int64 for <paramref name="integers"/>).</summary>
    public static Tensor Tensor(JsonElement array, bool integers = false)
    {
        var shape = new List<long>();
        for (var e = array; e.ValueKind == JsonValueKind.Array; e = e[0]) shape.Add(e.GetArrayLength());
        var flat = new List<double>();
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array) foreach (var x in e.EnumerateArray()) Walk(x);
            else flat.Add(e.GetDouble());
        }
        Walk(array);
        return integers
            ? tensor(flat.Select(x => (long)x).ToArray(), shape.ToArray())
            : tensor(flat.Select(x => (float)x).ToArray(), shape.ToArray());
    }

    /// <summary>The largest |actual − expected| where attention_mask (B, T) is 1; values (B, T, …).</summary>
    public static double MaxDiffWhereMasked(Tensor actual, Tensor expected, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var keep = attentionMask.to(ScalarType.Bool);
        while (keep.dim() < actual.dim()) keep = keep.unsqueeze(-1);
        return (actual - expected).abs().masked_fill(keep.logical_not(), 0).max().item<float>();
    }

    /// <summary>Copies the checkpoint's tensors under <paramref name="prefix"/> into a base model; every base key must be filled.</summary>
    public static void LoadBase(nn.Module baseModel, string arch, string prefix)
    {
        var weights = SafeTensors.Load(Path.Combine(Dir(arch), "model.safetensors"));
        var targets = baseModel.state_dict();
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            Assert.True(weights.TryGetValue(prefix + name, out var stored), $"{arch}: the checkpoint lacks {prefix + name}");
            target.copy_(stored!);
        }
    }
}
