using System.Text.Json.Nodes;

namespace FineTuneService.Training.Trainer;

/// <summary>One hyperparameter a job spec may set. Type is a JSON schema type (integer, number, boolean, string,
/// array of numbers); Minimum/Maximum are inclusive unless marked exclusive; Values lists the allowed strings.</summary>
public sealed record HyperparameterInfo(
    string Name, string Type, JsonNode? Default, string Description,
    double? Minimum = null, double? Maximum = null, bool ExclusiveMinimum = false, bool ExclusiveMaximum = false,
    IReadOnlyList<string>? Values = null, bool Nullable = false, string? AppliesTo = null);
