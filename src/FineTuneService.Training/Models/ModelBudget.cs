using System.ComponentModel.DataAnnotations;
using FineTuneService.Training.Checkpoints;

namespace FineTuneService.Training.Models;

/// <summary>The largest model the service agrees to build (configuration section <c>Models</c>): every dimension of a
/// shape and the bytes its parameters take in float32 (what training holds, before gradients and optimizer state).
/// Checked from the config alone, before any tensor exists, wherever a model comes in: import, <c>POST /jobs</c>
/// (a base model or a pretrain <c>model</c>), and the worker before it builds one.</summary>
public sealed class ModelBudget
{
    public const string Section = "Models";

    [Range(1, 100_000)] public int MaxLayers { get; set; } = 48;
    /// <summary>Hidden, intermediate and embedding widths.</summary>
    [Range(1, 1 << 24)] public int MaxWidth { get; set; } = 16384;
    [Range(1, 100_000)] public int MaxHeads { get; set; } = 128;
    [Range(1, 1 << 26)] public int MaxVocabSize { get; set; } = 262_144;
    [Range(1, 1 << 24)] public int MaxPositions { get; set; } = 32_768;
    [Range(1, 1 << 24)] public int MaxLabels { get; set; } = 10_000;
    [Range(1, long.MaxValue)] public long MaxParameterBytes { get; set; } = 2L << 30;

    public static readonly ModelBudget Default = new();

    /// <summary>Every dimension over its limit, and the parameter bytes over theirs, keyed by config.json field
    /// (<c>parameters</c> for the total); empty when the model fits.</summary>
    public IReadOnlyDictionary<string, string> Check(ModelConfig config)
    {
        var errors = new Dictionary<string, string>();
        foreach (var d in config.Dimensions())
        {
            var (limit, key) = d.Limit switch
            {
                ShapeLimit.Layers => (MaxLayers, nameof(MaxLayers)),
                ShapeLimit.Width => (MaxWidth, nameof(MaxWidth)),
                ShapeLimit.Heads => (MaxHeads, nameof(MaxHeads)),
                ShapeLimit.Vocabulary => (MaxVocabSize, nameof(MaxVocabSize)),
                ShapeLimit.Positions => (MaxPositions, nameof(MaxPositions)),
                _ => (MaxLabels, nameof(MaxLabels)),
            };
            if (d.Value > limit) errors[d.Field] = $"{d.Value} is more than this service builds ({Section}:{key} = {limit})";
        }
        if (errors.Count > 0) return errors; // the total of an oversized shape says nothing more
        long bytes;
        try { bytes = checked(config.ParameterCount() * sizeof(float)); }
        catch (OverflowException) { bytes = long.MaxValue; }
        if (bytes > MaxParameterBytes)
        {
            errors["parameters"] = $"the shape has {bytes / sizeof(float):N0} parameters ({bytes:N0} bytes in float32), more than this service builds " +
                $"({Section}:{nameof(MaxParameterBytes)} = {MaxParameterBytes:N0})";
        }

        return errors;
    }

    /// <summary>Throws <see cref="InvalidCheckpointException"/> naming every field over the budget.</summary>
    public void Enforce(ModelConfig config)
    {
        var errors = Check(config);
        if (errors.Count > 0)
            throw new InvalidCheckpointException("config.json: " + string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}")));
    }
}
