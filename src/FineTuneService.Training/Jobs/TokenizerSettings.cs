using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuneService.Training.Jobs;

/// <summary>The tokenizer a from-scratch pretraining job trains on its corpus (spec <c>tokenizer</c>).</summary>
public sealed record TokenizerSettings(int VocabSize, bool Lowercase, int MinFrequency)
{
    /// <summary>The spec's <c>tokenizer</c> object, checked; problems go to <paramref name="error"/> under <c>tokenizer.*</c>.</summary>
    public static TokenizerSettings? Parse(JsonObject? spec, bool causal, Action<JobField, string> error)
    {
        if (spec is null)
        {
            error(JobField.Tokenizer, "pretraining from scratch trains a tokenizer on the corpus: give its vocab_size.");
            return null;
        }
        int? vocabSize = null, minFrequency = 2;
        var lowercase = !causal;
        foreach (var (name, value) in spec)
        {
            var kind = value?.GetValueKind();
            switch (name)
            {
                case "vocab_size" when kind == JsonValueKind.Number && value!.AsValue().TryGetValue(out int v) && v is >= 300 and <= 1_000_000:
                    vocabSize = v;
                    break;
                case "vocab_size":
                    error(JobField.TokenizerSetting("vocab_size"), "must be a whole number from 300 to 1000000.");
                    break;
                case "min_frequency" when kind == JsonValueKind.Number && value!.AsValue().TryGetValue(out int f) && f >= 1:
                    minFrequency = f;
                    break;
                case "min_frequency":
                    error(JobField.TokenizerSetting("min_frequency"), "must be a whole number of at least 1.");
                    break;
                case "lowercase" when kind is JsonValueKind.True or JsonValueKind.False:
                    lowercase = value!.GetValue<bool>();
                    break;
                case "lowercase":
                    error(JobField.TokenizerSetting("lowercase"), "must be true or false.");
                    break;
                default:
                    error(JobField.TokenizerSetting(name), "unknown field: the tokenizer takes vocab_size, lowercase and min_frequency.");
                    break;
            }
        }
        if (vocabSize is null && !spec.ContainsKey("vocab_size"))
            error(JobField.TokenizerSetting("vocab_size"), "required.");
        return vocabSize is { } size ? new TokenizerSettings(size, lowercase, minFrequency.Value) : null;
    }
}
