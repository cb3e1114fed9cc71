using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FineTuneService.Training.Checkpoints;
using FineTuneService.Training.Models;

namespace FineTuneService.Training.Jobs;

/// <summary>The <c>model</c> of a from-scratch pretraining spec: the shape of the model to build.</summary>
static class ModelShapeSpec
{
    // config.json fields a shape may not set: the tokenizer decides them, or they describe heads, not the shape.
    static readonly HashSet<string> DerivedFields =
        ["vocab_size", "architectures", "model_type", "id2label", "label2id", "problem_type", "pad_token_id", "bos_token_id", "eos_token_id"];

    /// <summary>A <c>config.json</c>-style shape of one of <paramref name="architectures"/>, each field checked against
    /// the family's config record (its JSON names, by reflection); problems go to <paramref name="error"/> under <c>model.*</c>.</summary>
    public static ModelConfig? Parse(JsonObject spec, IReadOnlyList<string> architectures, int vocabSize, Action<JobField, string> error)
    {
        var all = ModelCatalogue.Families.Select(f => f.ModelType).ToArray();
        if (spec["architecture"] is not JsonValue given || given.GetValueKind() != JsonValueKind.String
            || !all.Contains(given.GetValue<string>()))
        {
            error(JobField.Shape("architecture"), $"required: one of {string.Join(", ", all)}.");
            return null;
        }
        var architecture = given.GetValue<string>();
        if (!architectures.Contains(architecture))
        {
            error(JobField.Shape("architecture"), $"this task pretrains a {string.Join(", ", architectures)} model.");
            return null;
        }
        var type = ModelCatalogue.Find(architecture)!.ConfigType;
        var fields = type.GetProperties()
            .Select(p => (Property: p, Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name))
            .Where(p => p.Name is not null && !DerivedFields.Contains(p.Name))
            .ToDictionary(p => p.Name!, p => p.Property);
        var config = new JsonObject { ["vocab_size"] = vocabSize };
        var ok = true;
        foreach (var (name, value) in spec)
        {
            if (name == "architecture")
                continue;
            if (!fields.TryGetValue(name, out var property))
            {
                error(JobField.Shape(name), DerivedFields.Contains(name)
                    ? "Set by the tokenizer trained on the corpus; leave it out."
                    : $"Not a {architecture} config.json field.");
                ok = false;
                continue;
            }
            try
            {
                value.Deserialize(property.PropertyType);
                config[name] = value?.DeepClone();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                error(JobField.Shape(name), $"must be {(property.PropertyType == typeof(string) ? "a string" : "a number")}.");
                ok = false;
            }
        }
        if (!ok)
            return null;
        var shape = (ModelConfig)config.Deserialize(type)!;
        try
        {
            shape.Validate();
            return shape;
        }
        catch (InvalidCheckpointException e)
        {
            error(JobField.ModelShape, e.Message.Replace("config.json: ", "", StringComparison.Ordinal));
            return null;
        }
    }
}
